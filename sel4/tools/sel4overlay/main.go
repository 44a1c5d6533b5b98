// Command sel4overlay writes a `go build -overlay` file that makes a static
// linux/arm64 Go program safe to run under the Cohesix seL4 shim.
//
// seL4 takes its syscall number from x7; Go's Linux stubs put the Linux
// number in x8 and leave whatever was in x7, which seL4 may execute as a
// real seL4 system call. For every assembly file of the build that issues
// SVC (the three GOROOT files named in required), sel4overlay writes a copy with `MOVD R8, R7` inserted before each SVC
// and maps the original path to the copy. Nothing of Go's is committed: the
// copies are generated from the local GOROOT at build time. go build does
// not accept overlays of module-cache files, so SVC stubs in modules
// (golang.org/x/sys/unix) are reported and left to scripts/sel4-svc-check.sh,
// which fails when any of them is linked.
//
//	go run ./sel4/tools/sel4overlay -out out/sel4/overlay ./roottask
//
// It prints the path of the overlay JSON. Exit status 1 on any error,
// 2 on a usage error.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// required are the GOROOT files every Go program links; missing one of
// them means the Go version changed its layout and the overlay is unsafe.
var required = []string{
	"runtime/sys_linux_arm64.s",
	"internal/runtime/syscall/linux/asm_linux_arm64.s",
	"syscall/asm_linux_arm64.s",
}

func main() {
	out := flag.String("out", "out/sel4/overlay", "directory for the overlay JSON and patched copies")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "Usage: sel4overlay [-out DIR] PACKAGE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	path, n, err := generate(*out, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "sel4overlay:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "sel4overlay: %d SVC sites patched\n", n)
	fmt.Println(path)
}

// generate lists the assembly files of pkgs as built for linux/arm64,
// patches those issuing SVC, and writes overlay.json under out.
func generate(out string, pkgs []string) (string, int, error) {
	listing, err := listAsm(pkgs)
	if err != nil {
		return "", 0, err
	}
	root, modcache, err := goEnv()
	if err != nil {
		return "", 0, err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return "", 0, err
	}
	if err := os.RemoveAll(filepath.Join(absOut, "files")); err != nil {
		return "", 0, err
	}
	replace := map[string]string{}
	total := 0
	sc := bufio.NewScanner(bytes.NewReader(listing))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "|")
		dir := fields[0]
		for _, name := range fields[1:] {
			src := filepath.Join(dir, name)
			dst, n, err := patchFile(src, absOut, modcache)
			if err != nil {
				return "", 0, err
			}
			if dst != "" {
				replace[src] = dst
				total += n
			}
		}
	}
	for _, r := range required {
		if _, ok := replace[filepath.Join(root, r)]; !ok {
			return "", 0, fmt.Errorf("GOROOT file %s was not patched (Go layout changed?)", r)
		}
	}
	path, err := writeOverlay(absOut, replace)
	if err != nil {
		return "", 0, err
	}
	return path, total, nil
}

// listAsm is go list's "dir|file.s|..." line for every package pkgs
// need on linux/arm64.
func listAsm(pkgs []string) ([]byte, error) {
	args := append([]string{"list", "-deps", "-f", `{{.Dir}}{{range .SFiles}}|{{.}}{{end}}`}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	listing, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	return listing, nil
}

// goEnv returns GOROOT/src and GOMODCACHE.
func goEnv() (root, modcache string, err error) {
	env, err := exec.Command("go", "env", "GOROOT", "GOMODCACHE").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env: %w", err)
	}
	envs := strings.Split(strings.TrimSpace(string(env)), "\n")
	if len(envs) != 2 {
		return "", "", fmt.Errorf("go env: unexpected output %q", env)
	}
	return filepath.Join(envs[0], "src"), envs[1], nil
}

// patchFile patches one assembly file into absOut/files/<its path> and
// returns where, with its SVC count; "" when it has no SVC or cannot be
// overlaid.
func patchFile(src, absOut, modcache string) (string, int, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", 0, err
	}
	patched, n, err := Patch(data)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", src, err)
	}
	if n == 0 {
		return "", 0, nil
	}
	if modcache != "" && strings.HasPrefix(src, modcache+string(filepath.Separator)) {
		// go build refuses overlays beneath GOMODCACHE. Such stubs
		// (golang.org/x/sys/unix) are usually dead code in the root
		// task; sel4-svc-check.sh fails the build if one is linked.
		fmt.Fprintf(os.Stderr, "sel4overlay: not patchable (module cache), left to the svc check: %s (%d SVC)\n", src, n)
		return "", 0, nil
	}
	rel, err := filepath.Rel("/", src)
	if err != nil {
		return "", 0, err
	}
	dst := filepath.Join(absOut, "files", rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", 0, err
	}
	if err := os.WriteFile(dst, patched, 0o644); err != nil {
		return "", 0, err
	}
	return dst, n, nil
}

// writeOverlay writes absOut/overlay.json and lists the patched files,
// sorted, on stderr.
func writeOverlay(absOut string, replace map[string]string) (string, error) {
	keys := make([]string, 0, len(replace))
	for k := range replace {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	doc, err := json.MarshalIndent(struct{ Replace map[string]string }{replace}, "", "\t")
	if err != nil {
		return "", err
	}
	path := filepath.Join(absOut, "overlay.json")
	if err := os.WriteFile(path, append(doc, '\n'), 0o644); err != nil {
		return "", err
	}
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "sel4overlay: %s\n", k)
	}
	return path, nil
}

// Patch inserts `MOVD R8, R7` before every SVC instruction of a Go arm64
// assembly file and reports how many it patched. An SVC it cannot
// recognise as a whole-line instruction is an error rather than a silent
// miss.
func Patch(src []byte) ([]byte, int, error) {
	var b bytes.Buffer
	n := 0
	lines := strings.SplitAfter(string(src), "\n")
	for i, line := range lines {
		code := line
		if j := strings.Index(code, "//"); j >= 0 {
			code = code[:j]
		}
		f := strings.Fields(code)
		has := false
		for _, w := range f {
			if strings.TrimRight(w, ";") == "SVC" {
				has = true
			}
		}
		if has {
			if f[0] != "SVC" || strings.Contains(code, ";") {
				return nil, 0, fmt.Errorf("line %d: SVC not alone on its line: %q", i+1, strings.TrimSpace(line))
			}
			indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
			b.WriteString(indent + "MOVD\tR8, R7\t// seL4: syscall number in x7 (sel4overlay)\n")
			n++
		}
		b.WriteString(line)
	}
	if n == 0 && bytes.Contains(src, []byte("SVC")) && !onlyInComments(src) {
		return nil, 0, errors.New("mentions SVC but no instruction was found")
	}
	return b.Bytes(), n, nil
}

func onlyInComments(src []byte) bool {
	for _, line := range strings.Split(string(src), "\n") {
		code := line
		if j := strings.Index(code, "//"); j >= 0 {
			code = code[:j]
		}
		if strings.Contains(code, "SVC") {
			return false
		}
	}
	return true
}
