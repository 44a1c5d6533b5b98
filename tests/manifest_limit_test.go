package tests

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestManifestLimitChangesRootTask copies the repository, changes one limit
// in configs/root_task.toml (the console path length), regenerates with
// coh-rtc and rebuilds: the new root task refuses a line the stock one
// accepts, and no file other than the manifest was edited by hand.
func TestManifestLimitChangesRootTask(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the root task from a copy of the repository")
	}
	stock := binaries(t, "roottask")
	tree := copyRepo(t)
	manifest := filepath.Join(tree, "configs", "root_task.toml")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	const from, to = "path_max = 96", "path_max = 48"
	if !strings.Contains(string(b), from) {
		t.Fatalf("manifest lacks %q", from)
	}
	if err := os.WriteFile(manifest, []byte(strings.Replace(string(b), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	changedBin := t.TempDir()
	for _, step := range [][]string{
		{"go", "run", "./cmd/coh-rtc"},
		{"go", "build", "-o", changedBin + "/", "./roottask"},
	} {
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir = tree
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
	// Only generated outputs changed besides the manifest.
	diff := exec.Command("git", "status", "--porcelain")
	diff.Dir = tree
	out, err := diff.Output()
	if err != nil {
		t.Fatalf("git status: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.TrimSpace(l[2:])
		if f != "configs/root_task.toml" && !strings.HasPrefix(f, "generated/") && !strings.HasPrefix(f, "docs/") && f != "scripts/cohsh/boot_v0.coh" {
			t.Errorf("regenerating changed %s; only the manifest and coh-rtc outputs may change", f)
		}
	}

	path := "/" + strings.Repeat("a", 30) + "/" + strings.Repeat("b", 30) // 62 bytes: under 96, over 48
	stockRT := startRootTask(t, stock, false)
	sc := stockRT.console(t)
	do(t, sc, "attach queen")
	if got := do(t, sc, "ls "+path).AckLine(); got != "ERR LS reason=policy detail=invalid-path path="+path+" error=invalid path" {
		t.Errorf("stock root task: ls of a 62-byte path = %q; want the namespace's invalid-path", got)
	}
	changedRT := startRootTask(t, changedBin, false)
	cc := changedRT.console(t)
	do(t, cc, "attach queen")
	if got := do(t, cc, "ls "+path).AckLine(); got != "ERR PARSE reason=policy detail=argument path exceeds allowed length" {
		t.Errorf("root task built with path_max=48: ls of a 62-byte path = %q; want the parser's length refusal", got)
	}

	// A cohsh built from the stock manifest refuses the drifted hive.
	cohshBin := binaries(t, "cmd/cohsh")
	_, port, _ := net.SplitHostPort(changedRT.ConsoleAddr)
	drift, err := cohsh(t, cohshBin, "--tcp-port", port, "--role", "queen", "ls", "/")
	if err == nil || !strings.Contains(drift, "manifest mismatch: hive reports sha256 ") {
		t.Errorf("stock cohsh against the drifted hive: err=%v\n%s\nwant a manifest mismatch refusal", err, drift)
	}
	_, port, _ = net.SplitHostPort(stockRT.ConsoleAddr)
	if out, err := cohsh(t, cohshBin, "--tcp-port", port, "--role", "queen", "ls", "/"); err != nil {
		t.Errorf("stock cohsh against the stock hive: %v\n%s", err, out)
	}
}

// copyRepo copies the tracked files of the repository into a fresh git
// work tree so the copy can be regenerated and diffed.
func copyRepo(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	ls := exec.Command("git", "ls-files", "-z")
	ls.Dir = repoRoot()
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(repoRoot(), f)
		data, err := os.ReadFile(src)
		if err != nil {
			continue // deleted in the work tree
		}
		st, _ := os.Stat(src)
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.email=ci@cohesix", "-c", "user.name=ci", "commit", "-qm", "copy"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dst
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dst
}
