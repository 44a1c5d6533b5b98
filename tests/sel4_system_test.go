package tests

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/testutil"
)

// sel4CohshPack is the serial pack in cohsh's words (cohsh turns
// `spawn heartbeat ticks=5` into the /queen/ctl line the hosted console
// answers with OK ECHO).
const sel4CohshPack = `attach queen
help
ping
cat /proc/boot
log
spawn heartbeat ticks=5
quit
`

// sel4Image builds the bootable seL4 image (shim + payload built with
// -tags cohesix_sel4) from SEL4_BUILD_DIR, plus cohsh and the hosted root
// task; it skips without SEL4_BUILD_DIR or qemu-system-aarch64.
func sel4Image(t *testing.T) (img, cohshBin, hostBin string) {
	t.Helper()
	img = sel4BuildImage(t, "cohesix_sel4")
	dir := t.TempDir()
	root, _ := filepath.Abs("..")
	cohshBin = filepath.Join(dir, "cohsh")
	hostBin = filepath.Join(dir, "roottask")
	for _, b := range [][2]string{{cohshBin, "./cmd/cohsh"}, {hostBin, "./roottask"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	return img, cohshBin, hostBin
}

// sel4BuildImage builds a bootable image whose payload has the build tags.
func sel4BuildImage(t *testing.T, tags string) string {
	t.Helper()
	if os.Getenv("SEL4_BUILD_DIR") == "" {
		t.Skip("SEL4_BUILD_DIR not set (a seL4 qemu-arm-virt aarch64 build tree, docs/SEL4.md)")
	}
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		t.Skip("qemu-system-aarch64 not installed (apt-get install -y qemu-system-arm)")
	}
	if testing.Short() {
		t.Skip("boots seL4 in QEMU; skipped with -short")
	}
	root, _ := filepath.Abs("..")
	dir := t.TempDir()
	build := exec.Command(filepath.Join(root, "scripts/cohesix-build-run.sh"), "--no-run")
	build.Dir = root
	build.Env = append(os.Environ(), "SEL4_OUT="+filepath.Join(dir, "sel4"), "TAGS="+tags)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("TAGS=%q cohesix-build-run.sh --no-run: %v\n%s", tags, err, out)
	}
	return filepath.Join(dir, "sel4/image/cohesix-image")
}

// cohshSerial runs a .coh script with cohsh over a serial command's stdio.
// A VM booting on a loaded machine may take far longer than a network
// retry to show its prompt (cohsh's default wait): it gets sel4BootWait.
func cohshSerial(t *testing.T, cohshBin, serialCmd, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cohshBin, "--transport", "serial", "--serial-cmd", serialCmd, "--boot-wait", sel4BootWait.String(), "--script", script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("cohsh --serial-cmd %q --script %s: %v\nstdout:\n%s\nstderr:\n%s", serialCmd, script, err, out.String(), errb.String())
	}
	return out.String()
}

// sel4BootWait bounds a boot to the prompt: seconds on a quiet machine,
// past cohsh's 5 s default with both cores busy under TCG (issue 18 item 8).
const sel4BootWait = 60 * time.Second

var (
	sel4DelayRE     = regexp.MustCompile(`delay_ms=\d+`)
	sel4TicksRE     = regexp.MustCompile(`\b(ticks|dequeued)=\d+`)
	sel4HeartbeatRE = regexp.MustCompile(`\{"tick":\d+,"ts_ms":\d+\}`)
	sel4TCPPeerRE   = regexp.MustCompile(`\b(remote|via)=\d+\.\d+\.\d+\.\d+:\d+`)
)

// sel4Normalize masks what wall-clock time decides in a transcript: throttle
// delays, and how many 100 ms heartbeats a worker emitted (or how often the
// scheduler dequeued it) before the next command (the VM under TCG and the hosted hive run their tickers in real
// time, so the counts race). Heartbeat record lines are dropped; every other
// line must match byte for byte. A TCP peer's address is masked too: the VM
// sees QEMU's NAT gateway (10.0.2.2), the hosted hive sees 127.0.0.1, and the
// port is ephemeral.
func sel4Normalize(s string) string {
	s = sel4TCPPeerRE.ReplaceAllString(s, "$1=PEER")
	s = sel4DelayRE.ReplaceAllString(s, "delay_ms=N")
	s = sel4TicksRE.ReplaceAllString(s, "$1=N")
	s = sel4HeartbeatRE.ReplaceAllString(s, "{heartbeat}")
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l != "{heartbeat}" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestSel4SerialConsoleMatchesHosted boots the seL4 image in
// qemu-system-aarch64 (scripts/qemu-run.sh as cohsh's --serial-cmd: the
// VM's PL011 is QEMU's stdio) and requires the serial pack and
// every scripts/cohsh/*.coh to give the same transcript as the hosted root
// task's serial console (throttle delays aside). One QEMU at a time.
func TestSel4SerialConsoleMatchesHosted(t *testing.T) {
	img, cohshBin, hostBin := sel4Image(t)
	root, _ := filepath.Abs("..")
	vm := "exec " + filepath.Join(root, "scripts/qemu-run.sh") + " " + img
	hosted := "exec " + hostBin + " --serial stdio --console-listen 127.0.0.1:0 --secure9p-listen 127.0.0.1:0"
	pack := filepath.Join(t.TempDir(), "sel4_pack.coh")
	if err := os.WriteFile(pack, []byte(sel4CohshPack), 0o600); err != nil {
		t.Fatal(err)
	}
	scripts, _ := filepath.Glob(filepath.Join(root, "scripts/cohsh/*.coh"))
	for _, s := range append([]string{pack}, scripts...) {
		t.Run(filepath.Base(s), func(t *testing.T) {
			if src, err := os.ReadFile(s); err == nil {
				if p, _ := hive.ScriptProfile(src); p != hive.ProfileDev {
					t.Skipf("profile %s: the image and the hosted root task run the dev manifest (DECISIONS P26)", p)
				}
			}
			want := sel4Normalize(cohshSerial(t, cohshBin, hosted, s))
			got := sel4Normalize(cohshSerial(t, cohshBin, vm, s))
			if got != want {
				t.Errorf("seL4 serial transcript differs from hosted\nseL4:\n%s\nhosted:\n%s", got, want)
			}
			if s == pack {
				for _, w := range []string{"OK ATTACH role=queen", "OK PING reply=pong", "OK CAT path=/proc/boot", "OK TAIL path=/log/queen.log", "OK ECHO path=/queen/ctl", "OK QUIT"} {
					if !strings.Contains(got, w) {
						t.Errorf("seL4 transcript lacks %q", w)
					}
				}
			}
		})
	}
}

// TestSel4NilDereferencePanics boots the crash-test payload (tags
// cohesix_sel4 cohesix_crashtest: a goroutine dereferences nil a second
// after boot) and requires Go's panic message on serial, delivered through
// the shim's SIGSEGV frame, followed by the shim's exit report; a hang or a
// bare shim fault report fails it.
func TestSel4NilDereferencePanics(t *testing.T) {
	if os.Getenv("SEL4_BUILD_DIR") == "" {
		t.Skip("SEL4_BUILD_DIR not set (a seL4 qemu-arm-virt aarch64 build tree, docs/SEL4.md)")
	}
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		t.Skip("qemu-system-aarch64 not installed (apt-get install -y qemu-system-arm)")
	}
	if testing.Short() {
		t.Skip("boots seL4 in QEMU; skipped with -short")
	}
	img := sel4BuildImage(t, "cohesix_sel4 cohesix_crashtest")
	root, _ := filepath.Abs("..")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts/qemu-run.sh"), img)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var serial strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(serial.String(), "cohesix-shim: halt") {
		n, err := out.Read(buf)
		serial.Write(buf[:n])
		if err != nil {
			break
		}
	}
	got := strings.ReplaceAll(serial.String(), "\r", "")
	for _, w := range []string{
		"crashtest: dereferencing a nil pointer in a test goroutine",
		"panic: runtime error: invalid memory address or nil pointer dereference",
		"[signal SIGSEGV: segmentation violation code=0x1 addr=0x0",
		"roottask/platform/sel4/crashtest.go",
		"cohesix-shim: Go root task exited, status 0x0000000000000002",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("serial lacks %q\nserial:\n%s", w, got)
		}
	}
}

// freePortPair returns two distinct TCP ports on 127.0.0.1 that were free a
// moment ago; both listeners stay open until both are chosen, so the kernel
// cannot hand out the same port twice (QEMU then fails to forward either).
func freePortPair(t *testing.T) (int, int) {
	t.Helper()
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1]
}

// sel4DHCPLine is the network event of a VM that took QEMU's DHCP lease
// (the manifest and the boot environment name no address).
const sel4DHCPLine = "ip=10.0.2.15/24 gw=10.0.2.2 from=dhcp (gVisor netstack)"

// bootNetVM boots the image with QEMU_NET=1 (virtio-net, user network,
// console and Secure9P forwarded to free host ports; env adds to
// qemu-run.sh's environment) and waits for the prompt on serial and a
// network event containing wantNet; QEMU is stopped when the test ends.
func bootNetVM(t *testing.T, img, wantNet string, env ...string) (consolePort, ninePort int, serial *testutil.SyncBuffer) {
	t.Helper()
	consolePort, ninePort, serial, _ = bootNetVMProc(t, img, wantNet, env...)
	return consolePort, ninePort, serial
}

// bootNetVMProc is bootNetVM that also returns the QEMU process
// (qemu-run.sh execs QEMU, so it is the process started).
func bootNetVMProc(t *testing.T, img, wantNet string, env ...string) (consolePort, ninePort int, serial *testutil.SyncBuffer, qemu *os.Process) {
	t.Helper()
	root, _ := filepath.Abs("..")
	consolePort, ninePort = freePortPair(t)
	cmd := exec.Command(filepath.Join(root, "scripts/qemu-run.sh"), img)
	cmd.Env = append(append(os.Environ(), "QEMU_NET=1", "QEMU_CONSOLE_PORT="+strconv.Itoa(consolePort), "QEMU_9P_PORT="+strconv.Itoa(ninePort)), env...)
	serial = &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = serial, serial
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(sel4BootWait); !strings.Contains(serial.String(), "cohesix> "); {
		if time.Now().After(deadline) {
			t.Fatalf("no prompt within %s; serial:\n%s", sel4BootWait, serial.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(serial.String(), "[event] sel4 network: virtio-net") || !strings.Contains(serial.String(), wantNet) {
		t.Fatalf("network did not come up with %q; serial:\n%s", wantNet, serial.String())
	}
	if !strings.Contains(serial.String(), "[event] sel4 entropy: virtio-rng seeds an AES-256-CTR DRBG") {
		t.Fatalf("no virtio-rng entropy; serial:\n%s", serial.String())
	}
	return consolePort, ninePort, serial, cmd.Process
}

// TestSel4NetworkConsoleAnd9P boots the image with virtio-net and checks
// that cohsh over TCP (the VM's console on 31337, forwarded) gives the
// hosted TCP transcript for the issue pack and every scripts/cohsh/*.coh
// (one VM per script, like one hive per script hosted), and that a
// 9P2000.L client attaches to the VM's Secure9P on 564 and lists the same
// root as the hosted root task's.
func TestSel4NetworkConsoleAnd9P(t *testing.T) {
	img, cohshBin, hostBin := sel4Image(t)
	root, _ := filepath.Abs("..")
	pack := filepath.Join(t.TempDir(), "sel4_pack.coh")
	if err := os.WriteFile(pack, []byte(sel4CohshPack), 0o600); err != nil {
		t.Fatal(err)
	}
	runTCP := func(port int, script string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(ctx, cohshBin, "--tcp-port", strconv.Itoa(port), "--script", script)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return sel4Normalize(out.String()), err
	}
	hosted := func(t *testing.T) (consolePort, ninePort int) {
		consolePort, ninePort = freePortPair(t)
		cmd := exec.Command(hostBin, "--serial", "none", "--console-listen", "127.0.0.1:"+strconv.Itoa(consolePort), "--secure9p-listen", "127.0.0.1:"+strconv.Itoa(ninePort))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		// Both listeners: the root task opens Secure9P's after the console's,
		// and a loaded host can be dialled in between.
		for _, port := range []int{consolePort, ninePort} {
			for i := 0; i < 100; i++ {
				if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
					c.Close()
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		return consolePort, ninePort
	}
	scripts, _ := filepath.Glob(filepath.Join(root, "scripts/cohsh/*.coh"))
	for _, s := range append([]string{pack}, scripts...) {
		t.Run("tcp/"+filepath.Base(s), func(t *testing.T) {
			if src, err := os.ReadFile(s); err == nil {
				if p, _ := hive.ScriptProfile(src); p != hive.ProfileDev {
					t.Skipf("profile %s: the image and the hosted root task run the dev manifest (DECISIONS P26)", p)
				}
			}
			hp, _ := hosted(t)
			want, werr := runTCP(hp, s)
			vp, _, serial := bootNetVM(t, img, sel4DHCPLine)
			got, gerr := runTCP(vp, s)
			if (werr == nil) != (gerr == nil) || got != want {
				t.Errorf("seL4 TCP transcript differs from hosted (hosted err %v, seL4 err %v)\nseL4:\n%s\nhosted:\n%s\nserial:\n%s", werr, gerr, got, want, serial.String())
			}
		})
	}
	t.Run("secure9p", func(t *testing.T) {
		list := func(port int) []string {
			tok, err := nineclient.MintQueen(time.Now())
			if err != nil {
				t.Fatal(err)
			}
			c, err := nineclient.Dial("127.0.0.1:"+strconv.Itoa(port), tok, 10*time.Second)
			if err != nil {
				t.Fatalf("9P attach on %d: %v", port, err)
			}
			defer c.Close()
			names, err := c.List("/")
			if err != nil {
				t.Fatalf("9P list / on %d: %v", port, err)
			}
			return names
		}
		_, hp := hosted(t)
		want := list(hp)
		_, vp, _ := bootNetVM(t, img, sel4DHCPLine)
		got := list(vp)
		if !reflect.DeepEqual(got, want) || len(got) == 0 {
			t.Errorf("9P / on seL4 = %q, hosted %q", got, want)
		}
		t.Logf("9P2000.L list / on the VM's port 564: %q", got)
	})
}

// sel4NoEntropyScript attaches the queen (no secret involved), presents a
// good worker ticket, which a VM without an entropy source must refuse,
// and reads the queen's log for the audit line.
const sel4NoEntropyScript = `attach queen
EXPECT OK
ATTACH worker-heartbeat cohesix-ticket-0101080800776f726b65722d31000000000000000000000000.ea7bee86230e67031e6e758fa01c00eaa9c1f0bfff4b41548424a3df0356cff9
EXPECT SUBSTR ERR ATTACH reason=policy detail=no-entropy
log
EXPECT OK
quit
`

// TestSel4NoEntropyRefusesTickets boots the image WITHOUT virtio-rng
// (QEMU_RNG=0) and requires the root task to refuse a good worker ticket
// with reason=policy detail=no-entropy and an audit line, never falling
// back to the shim's non-cryptographic getrandom (DECISIONS P73); with the
// device (qemu-run.sh's default) the same ticket is accepted, as the
// serial transcripts of TestSel4SerialConsoleMatchesHosted show.
func TestSel4NoEntropyRefusesTickets(t *testing.T) {
	img, cohshBin, _ := sel4Image(t)
	root, _ := filepath.Abs("..")
	script := filepath.Join(t.TempDir(), "no_entropy.coh")
	if err := os.WriteFile(script, []byte(sel4NoEntropyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	got := cohshSerial(t, cohshBin, "QEMU_RNG=0 exec "+filepath.Join(root, "scripts/qemu-run.sh")+" "+img, script)
	for _, w := range []string{
		"ERR ATTACH reason=policy detail=no-entropy",
		"ui-ticket outcome=deny reason=no-entropy role=worker-heartbeat ticket=cohesix-ticket-",
		"attach denied role=worker-heartbeat reason=policy detail=no-entropy transport=serial",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("transcript lacks %q\n%s", w, got)
		}
	}
}

// TestSel4StaticIPv4FromBootEnv boots the image with a static address in
// the boot environment (COHESIX_ENV through fw_cfg: COHESIX_IPV4 and
// COHESIX_IPV4_GATEWAY, DECISIONS P74) instead of DHCP, requires the
// network event to show it, and runs the issue pack over TCP to that
// address (QEMU forwards to 10.0.2.20).
func TestSel4StaticIPv4FromBootEnv(t *testing.T) {
	img, cohshBin, _ := sel4Image(t)
	pack := filepath.Join(t.TempDir(), "sel4_pack.coh")
	if err := os.WriteFile(pack, []byte(sel4CohshPack), 0o600); err != nil {
		t.Fatal(err)
	}
	vp, _, serial := bootNetVM(t, img, "ip=10.0.2.20/24 gw=10.0.2.2 from=boot-env",
		"QEMU_GUEST_IP=10.0.2.20", "COHESIX_ENV=COHESIX_ECHO=0 COHESIX_IPV4=10.0.2.20/24 COHESIX_IPV4_GATEWAY=10.0.2.2")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cohshBin, "--tcp-port", strconv.Itoa(vp), "--script", pack).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK ATTACH role=queen") || !strings.Contains(string(out), "OK QUIT") {
		t.Fatalf("cohsh over TCP to 10.0.2.20: %v\n%s\nserial:\n%s", err, out, serial.String())
	}
}

// sel4KernelExportsTimer reports whether SEL4_BUILD_DIR's kernel exports
// the counters and the physical timer to user mode (the shim's interrupt
// mode, DECISIONS P86); the prebuilt 13.x tree does not.
func sel4KernelExportsTimer(t *testing.T) bool {
	t.Helper()
	dir := os.Getenv("SEL4_BUILD_DIR")
	for _, p := range []string{"kernel/gen_config/kernel/gen_config.h", "include/kernel/gen_config.h"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			continue
		}
		has := func(c string) bool {
			return bytes.Contains(b, []byte("define "+c+" ")) || bytes.Contains(b, []byte("define "+c+"\n"))
		}
		return has("CONFIG_EXPORT_VCNT_USER") && has("CONFIG_EXPORT_PCNT_USER") && has("CONFIG_EXPORT_PTMR_USER")
	}
	return false
}

// qemuCPUSeconds is the user+system CPU time of process pid so far
// (/proc/<pid>/stat fields 14 and 15, in USER_HZ = 100 ticks per second).
func qemuCPUSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])) // after comm: state is field 3
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parse /proc/%d/stat: %q", pid, b)
	}
	return (ut + st) / 100
}

// TestSel4IdleWaitsOnInterrupts boots the image with virtio-net and
// virtio-rng and requires the interrupt mode the kernel allows: with the
// timer exported the shim says "interrupts on", virtio-net receives on its
// IRQ, the idle VM's QEMU uses under half a host core (polling kept it at
// a whole one: docs/BENCHMARKS.md), and after the idle spell a console
// session over TCP still works (an interrupt woke the VM). Without the
// timer the shim says "interrupts off" and virtio-net is polled.
func TestSel4IdleWaitsOnInterrupts(t *testing.T) {
	img, cohshBin, _ := sel4Image(t)
	vp, _, serial, qemu := bootNetVMProc(t, img, sel4DHCPLine)
	got := strings.ReplaceAll(serial.String(), "\r", "")
	if !sel4KernelExportsTimer(t) {
		for _, w := range []string{"cohesix-shim: interrupts off (", "(gVisor netstack) rx=polled", "AES-256-CTR DRBG wait=polled"} {
			if !strings.Contains(got, w) {
				t.Errorf("serial lacks %q (kernel exports no timer)\nserial:\n%s", w, got)
			}
		}
		return
	}
	for _, w := range []string{"cohesix-shim: interrupts on (timer, serial RX, virtio): idle waits", "(gVisor netstack) rx=irq ", "AES-256-CTR DRBG wait=irq "} {
		if !strings.Contains(got, w) {
			t.Fatalf("serial lacks %q\nserial:\n%s", w, got)
		}
	}
	const settle, window = 2 * time.Second, 8 * time.Second
	time.Sleep(settle)
	c0, w0 := qemuCPUSeconds(t, qemu.Pid), time.Now()
	time.Sleep(window)
	share := (qemuCPUSeconds(t, qemu.Pid) - c0) / time.Since(w0).Seconds()
	t.Logf("idle QEMU: %.1f%% of one host core over %s", 100*share, window)
	if share >= 0.5 {
		t.Errorf("idle QEMU used %.0f%% of a host core with interrupts on; want under 50%%", 100*share)
	}
	pack := filepath.Join(t.TempDir(), "sel4_pack.coh")
	if err := os.WriteFile(pack, []byte(sel4CohshPack), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cohshBin, "--tcp-port", strconv.Itoa(vp), "--script", pack).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK ATTACH role=queen") || !strings.Contains(string(out), "OK QUIT") {
		t.Fatalf("cohsh over TCP after the idle spell: %v\n%s\nserial:\n%s", err, out, serial.String())
	}
}
