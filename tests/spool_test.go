package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/prov/spoolfs"
)

// TestSpoolStoreAndForward drives /proc/spool through the root task's TCP
// console with --state-dir (milestone 27): appended records read back
// from the ack cursor, survive a SIGKILL, and a torn tail left in the
// block file is ignored at the next start, audited, and overwritten.
func TestSpoolStoreAndForward(t *testing.T) {
	dir := t.TempDir()
	start := stateDirQueen(t, dir)
	rt, run := start()
	for _, rec := range []string{"reading-001", "reading-002", "reading-003"} {
		if got := run("echo /proc/spool/append " + rec)[0]; got != "OK ECHO path=/proc/spool/append bytes=11" {
			t.Fatalf("append %s: %q", rec, got)
		}
	}
	if got := run("echo /proc/spool/ack 1")[0]; !strings.HasPrefix(got, "OK ECHO path=/proc/spool/ack") {
		t.Fatalf("ack: %q", got)
	}
	read := strings.Join(run("cat /proc/spool/read")[1:], "\n")
	if !strings.Contains(read, "seq=2 kind=1 ") || !strings.Contains(read, "\nreading-002\n") || !strings.Contains(read, "\nreading-003") || strings.Contains(read, "reading-001") {
		t.Fatalf("read after ack 1:\n%s", read)
	}
	// SIGKILL: every append and ack was durable before its ACK.
	_ = rt.cmd.Process.Kill()
	_ = rt.cmd.Wait()

	// Tear the newest record (reading-003, ring bytes 96..144 after the
	// two superblock blocks): its payload loses a byte.
	path := filepath.Join(dir, spoolfs.FileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	bs := int64(generated.PersistenceBlockBytes)
	if _, err := f.WriteAt([]byte{0}, 2*bs+96+32+4); err != nil {
		t.Fatal(err)
	}
	f.Close()

	rt, run = start()
	status := run("cat /proc/spool/status")
	if !slices.Contains(status, "records=2") || !slices.Contains(status, "ack_cursor=1") {
		t.Fatalf("status after restart with a torn tail: %q", status)
	}
	if log := strings.Join(run("log"), "\n"); !strings.Contains(log, "spool torn tail ignored records=2 scanned_bytes=96 reason=bad-checksum") {
		t.Errorf("no audit of the torn tail:\n%s", log)
	}
	if got := run("echo /proc/spool/append reading-004")[0]; got != "OK ECHO path=/proc/spool/append bytes=11" {
		t.Fatalf("append after recovery: %q", got)
	}
	read = strings.Join(run("cat /proc/spool/read")[1:], "\n")
	if !strings.Contains(read, "seq=3 kind=1 ") || !strings.Contains(read, "\nreading-004") || strings.Contains(read, "reading-003") {
		t.Fatalf("read after recovery:\n%s", read)
	}
}

// stateDirQueen returns a start that runs a root task on the state
// directory dir and a queen console on it: run
// sends a line and returns the ACK line, then the response lines.
func stateDirQueen(t *testing.T, dir string) func() (rt *rootTask, run func(string) []string) {
	bin := binaries(t, "roottask")
	return func() (*rootTask, func(string) []string) {
		rt := startRootTaskArgs(t, bin, false, []string{"--state-dir", dir})
		c := rt.console(t)
		run := func(line string) []string {
			r := do(t, c, line)
			return append([]string{r.AckLine()}, r.Lines...)
		}
		if got := run("attach queen")[0]; got != "OK ATTACH role=queen" {
			t.Fatalf("attach: %q", got)
		}
		return rt, run
	}
}
