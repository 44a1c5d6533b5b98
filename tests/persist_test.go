package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/spool"
	"github.com/cohesix/cohesix/internal/store"
)

// startGovHive starts the test root task with governance on and its spool
// in dir, and returns the process and its console address.
func startGovHive(t *testing.T, bin, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "govhive"), "--state-dir", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "[event] console listening tcp="); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(20 * time.Second):
		t.Fatal("govhive did not report its listener")
	}
	return nil, ""
}

// TestSpoolSurvivesSIGKILL kills the root task with SIGKILL in the middle
// of a stream of acknowledged writes (approvals and journal entries),
// tears the spool's final record by hand, and restarts it: every
// acknowledged entry is back exactly once, the torn record is reported
// and dropped, and the lifecycle state survives (DECISIONS D9).
func TestSpoolSurvivesSIGKILL(t *testing.T) {
	bin := binaries(t, "tests/testdata/govhive")
	dir := t.TempDir()
	proc, addr := startGovHive(t, bin, dir)
	c := dialConsole(t, addr)
	expectAck(t, c, "attach queen", "OK ATTACH role=queen")
	expectAck(t, c, "echo /queen/lifecycle/ctl cordon", "OK ECHO path=/queen/lifecycle/ctl bytes=6")

	const killAfter = 40
	var (
		mu    sync.Mutex
		acked []string // what the hive acknowledged, in order
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			var line, entry string
			if i%2 == 0 {
				entry = fmt.Sprintf(`{"id":"a%d","target":"/queen/ctl","decision":"approve"}`, i)
				line = "echo /actions/queue " + entry
			} else {
				entry = fmt.Sprintf(`{"note":%d}`, i)
				line = "echo /audit/journal " + entry
			}
			r, err := c.Do(line)
			if err != nil {
				return // the hive died under us
			}
			if !r.Ack.OK {
				continue // e.g. the bounded action queue is full
			}
			mu.Lock()
			acked = append(acked, entry)
			n := len(acked)
			mu.Unlock()
			if n == killAfter {
				_ = proc.Process.Signal(syscall.SIGKILL)
			}
		}
	}()
	<-done
	_ = proc.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < killAfter {
		t.Fatalf("only %d writes acknowledged before the stream ended", len(acked))
	}

	// Tear the final record: half of a new record's bytes.
	path := filepath.Join(dir, store.SpoolName)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := spool.Encode(nil, []byte(`{"k":"journal","l":"{\"note\":\"torn\"}"}`))
	if err := os.WriteFile(path, append(before, torn[:len(torn)/2]...), 0o600); err != nil {
		t.Fatal(err)
	}

	_, addr = startGovHive(t, bin, dir)
	c2 := dialConsole(t, addr)
	expectAck(t, c2, "attach queen", "OK ATTACH role=queen")
	journal := cat(t, c2, "/audit/journal")
	queue := cat(t, c2, "/actions/queue")
	for _, e := range acked {
		where := journal
		if strings.HasPrefix(e, `{"id"`) {
			where = queue
		}
		if n := countOf(where, e); n != 1 {
			t.Errorf("acknowledged %s appears %d times after the restart; want 1", e, n)
		}
	}
	if slices.ContainsFunc(journal, func(l string) bool { return strings.Contains(l, "torn") }) {
		t.Error("the torn record was read back")
	}
	log := logLines(t, c2)
	want := fmt.Sprintf("spool torn tail truncated offset=%d dropped_bytes=%d reason=short-payload", len(before), len(torn)/2)
	if !slices.Contains(log, want) {
		t.Errorf("log lacks %q:\n%s", want, strings.Join(log, "\n"))
	}
	if got := catLine(t, c2, "/proc/lifecycle/state"); got != "state=DRAINING" {
		t.Errorf("lifecycle after restart %q; want state=DRAINING", got)
	}
	// The approvals still work once, after the restart.
	expectAck(t, c2, "echo /queen/lifecycle/ctl resume", "OK ECHO path=/queen/lifecycle/ctl bytes=6")
	expectAck(t, c2, `spawn {"spawn":"heartbeat","ticks":1}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":1}`)
	if st := catLine(t, c2, "/actions/a0/status"); st != `{"id":"a0","decision":"approve","state":"consumed"}` {
		t.Errorf("a0 status %q; want consumed", st)
	}
}

func countOf(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if l == s {
			n++
		}
	}
	return n
}
