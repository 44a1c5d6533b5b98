package tests

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/client"
)

// durableLog returns the test lines with prefix in the durable log of dir
// as an operator reads lines older than the ring: `coh log --state-dir
// DIR --json` (archive and live spool, each line once), in order.
func durableLog(t *testing.T, bin, dir, prefix string) []string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "coh"), "log", "--state-dir", dir, "--json").Output()
	if err != nil {
		t.Fatalf("coh log --state-dir %s: %v", dir, err)
	}
	var log []struct {
		N    uint64 `json:"n"`
		Line string `json:"line"`
	}
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatalf("coh log --json: %v", err)
	}
	var lines []string
	for i, l := range log {
		if i > 0 && l.N != log[i-1].N+1 {
			t.Errorf("durable log line %d numbered %d after %d", i, l.N, log[i-1].N)
		}
		if strings.HasPrefix(l.Line, prefix) {
			lines = append(lines, l.Line)
		}
	}
	return lines
}

// signalRootTask ends rt with sig and waits for it to exit.
func signalRootTask(t *testing.T, rt *rootTask, sig os.Signal) {
	t.Helper()
	if err := rt.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = rt.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = rt.cmd.Process.Kill()
		t.Fatalf("root task did not exit on %v", sig)
	}
}

// TestHostileDurableFiftyEchoes is finding 5 exactly: 50 acknowledged
// echoes to /log/queen.log, then kill -9 (and, separately, SIGTERM) and a
// restart on the same --state-dir: all 50 are in /log/queen.log, once
// each; the spawn's audit line survives and its worker id is not reused.
func TestHostileDurableFiftyEchoes(t *testing.T) {
	bin := binaries(t, "roottask")
	for _, sig := range []os.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--state-dir", dir}
			rt := startRootTaskArgs(t, bin, false, args)
			if !strings.Contains(rt.Stdout(), "[event] state dir="+dir+" mode=durable") {
				t.Errorf("banner does not name the state dir:\n%s", rt.Stdout())
			}
			c := queenConsole(t, rt)
			expectAck(t, c, `spawn {"spawn":"heartbeat","ticks":1}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":1}`)
			var want []string
			for i := range 50 {
				line := fmt.Sprintf("fifty-%s-%02d", sig, i)
				expectAck(t, c, "echo /log/queen.log "+line, fmt.Sprintf("OK ECHO path=/log/queen.log bytes=%d", len(line)))
				want = append(want, line)
			}
			signalRootTask(t, rt, sig)

			rt = startRootTaskArgs(t, bin, false, args)
			c = queenConsole(t, rt)
			log := logLines(t, c)
			for _, l := range want {
				if n := countOf(log, l); n != 1 {
					t.Errorf("acknowledged %q appears %d times after the restart; want 1", l, n)
				}
			}
			if !slices.ContainsFunc(log, func(l string) bool { return strings.HasPrefix(l, "spawn worker=worker-1 role=worker-heartbeat ") }) {
				t.Errorf("the spawn's audit line did not survive:\n%s", strings.Join(log, "\n"))
			}
			expectAck(t, c, `spawn {"spawn":"heartbeat","ticks":1}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":1}`)
			if log := logLines(t, c); !slices.ContainsFunc(log, func(l string) bool { return strings.HasPrefix(l, "spawn worker=worker-2 ") }) {
				t.Errorf("the spawn after the restart did not take worker-2:\n%s", strings.Join(log, "\n"))
			}
		})
	}
}

// TestHostileDurableBannerInMemory: without --state-dir the banner says
// that nothing survives a restart.
func TestHostileDurableBannerInMemory(t *testing.T) {
	rt := startRootTask(t, binaries(t, "roottask"), false)
	if !strings.Contains(rt.Stdout(), "[event] state dir=none mode=in-memory\n") {
		t.Errorf("banner does not say in-memory:\n%s", rt.Stdout())
	}
}

// TestHostileDurableKillDuringAppends: eight console clients append
// 10,000 unique lines in all to /log/queen.log; the root task is killed
// with SIGKILL at a random moment; after a restart on the same state dir
// every line whose OK a client received is in the durable log exactly
// once, and the newest of them are what the ring shows.
func TestHostileDurableKillDuringAppends(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/coh")
	dir := t.TempDir()
	args := []string{"--state-dir", dir}
	rt := startRootTaskArgs(t, bin, false, args)
	const clients, total = 8, 10000
	seed := time.Now().UnixNano()
	killAt := int64(1000 + rand.New(rand.NewPCG(uint64(seed), 0)).IntN(total-2000))
	t.Logf("seed %d: SIGKILL after %d acknowledged appends", seed, killAt)

	conns := make([]*client.Conn, clients)
	for i := range conns {
		conns[i] = queenConsole(t, rt)
	}
	var (
		mu     sync.Mutex
		acked  []string
		nAcked atomic.Int64
		wg     sync.WaitGroup
		kill   sync.Once
	)
	for ci, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / clients {
				line := fmt.Sprintf("durable-c%d-%05d", ci, i)
				r, err := c.Do("echo /log/queen.log " + line)
				if err != nil {
					return // the root task died under us
				}
				if !r.Ack.OK {
					continue
				}
				mu.Lock()
				acked = append(acked, line)
				mu.Unlock()
				if nAcked.Add(1) == killAt {
					kill.Do(func() { _ = rt.cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		}()
	}
	wg.Wait()
	signalRootTask(t, rt, syscall.SIGKILL)
	if n := nAcked.Load(); n < killAt {
		t.Fatalf("only %d appends acknowledged; the kill was due after %d", n, killAt)
	}

	rt = startRootTaskArgs(t, bin, false, args)
	// An honest operator is served after the crash.
	c := queenConsole(t, rt)
	durable := durableLog(t, bin, dir, "durable-c")
	seen := map[string]int{}
	for _, l := range durable {
		seen[l]++
		if seen[l] == 2 {
			t.Errorf("%q is in the durable log twice", l)
		}
	}
	lost := 0
	for _, l := range acked {
		if seen[l] == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged %q is not in the durable log", l)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged lines lost", lost, len(acked))
	}
	var ring []string
	for _, l := range logLines(t, c) {
		if strings.HasPrefix(l, "durable-c") {
			ring = append(ring, l)
		}
	}
	if len(ring) == 0 || !slices.Equal(ring, durable[len(durable)-len(ring):]) {
		t.Errorf("the ring's %d test lines are not the newest of the durable log", len(ring))
	}
	t.Logf("%d acknowledged, %d in the durable log, %d in the ring", len(acked), len(durable), len(ring))
}

// TestHostileDurableWorkerTable: the acknowledged effects of /queen/ctl on
// the worker table survive kill -9. Two heartbeat workers are spawned and
// one killed; after SIGKILL and a restart on the same state dir, `ls
// /worker` lists the survivor, which beats again into its (not durable,
// so fresh) ring and whose ticket attaches over 9P; the killed one stays
// absent and its ticket is refused; ids are not reused.
func TestHostileDurableWorkerTable(t *testing.T) {
	bin := binaries(t)
	args := []string{"--state-dir", t.TempDir()}
	rt := startRootTaskArgs(t, bin, false, args)
	q := queenConsole(t, rt)
	const spawn = `spawn {"spawn":"heartbeat","ticks":100000}`
	expectAck(t, q, spawn, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	expectAck(t, q, spawn, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	expectAck(t, q, "kill worker-2", "OK KILL id=worker-2")
	signalRootTask(t, rt, syscall.SIGKILL)

	rt = startRootTaskArgs(t, bin, false, args)
	q = queenConsole(t, rt)
	if ls := do(t, q, "ls /worker").Lines; !slices.Contains(ls, "worker-1") || slices.Contains(ls, "worker-2") {
		t.Fatalf("ls /worker after the restart = %q; want worker-1 and not the killed worker-2", ls)
	}
	var first, later []string
	for range 100 { // the survivor beats again: its ring grows
		later = telemetryLines(t, q, "/worker/worker-1/telemetry")
		if first == nil && len(later) > 0 {
			first = later
		} else if len(later) > len(first) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(first) == 0 || len(later) <= len(first) {
		t.Fatalf("worker-1 telemetry after the restart: %d lines then %d; want it growing", len(first), len(later))
	}
	root := attach9P(t, rt.NinePAddr, mint(t, bin, "worker-heartbeat", "worker-1"))
	appendFile(t, root, []string{"worker", "worker-1", "telemetry"}, "after-restart\n", nil)
	if got := telemetryLines(t, q, "/worker/worker-1/telemetry"); !slices.Contains(got, "after-restart") {
		t.Errorf("worker-1 telemetry lacks its 9P append after the restart: %q", got)
	}
	w := rt.console(t)
	expectAck(t, w, "attach worker "+mint(t, bin, "worker-heartbeat", "worker-2"), "ERR ATTACH reason=policy detail=revoked")
	expectAck(t, q, spawn, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	if ls := do(t, q, "ls /worker").Lines; !slices.Contains(ls, "worker-3") || slices.Contains(ls, "worker-2") {
		t.Errorf("ls /worker after a new spawn = %q; want worker-3 (worker-2 stays used)", ls)
	}
}
