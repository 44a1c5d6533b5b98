package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSel4UBootFatloadToPrompt boots the seL4 image the way a board does:
// QEMU virt at EL2 runs Debian's u-boot-qemu, whose distro boot finds
// boot.scr on a FAT disk, fatloads the uImage and bootm's the ELF-loader;
// the serial pack must then be acknowledged at the cohesix> prompt
// (scripts/uboot/qemu-uboot-smoke.sh). Skips without SEL4_BUILD_DIR, QEMU,
// u-boot-qemu, mkimage or mtools.
func TestSel4UBootFatloadToPrompt(t *testing.T) {
	for _, tool := range []string{"mkimage", "mcopy", "mformat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install -y u-boot-tools mtools)", tool)
		}
	}
	if _, err := os.Stat("/usr/lib/u-boot/qemu_arm64/u-boot.bin"); err != nil && os.Getenv("UBOOT_BIN") == "" {
		t.Skip("u-boot-qemu not installed (apt-get install -y u-boot-qemu)")
	}
	img := sel4BuildImage(t, "cohesix_sel4")
	root, _ := filepath.Abs("..")
	cmd := exec.Command(filepath.Join(root, "scripts/uboot/qemu-uboot-smoke.sh"), img)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-uboot-smoke.sh: %v\n%s", err, out)
	}
	for _, w := range []string{"OK ATTACH role=queen", "OK PING reply=pong", "OK ECHO path=/queen/ctl", "serial pack OK"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("U-Boot boot transcript lacks %q\n%s", w, out)
		}
	}
}
