package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohverb"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/testutil"
)

func TestNewLines(t *testing.T) {
	for _, tc := range []struct {
		name            string
		prev, cur, want []string
	}{
		{"first poll", nil, []string{"a", "b"}, []string{"a", "b"}},
		{"nothing new", []string{"a", "b"}, []string{"a", "b"}, nil},
		{"appended", []string{"a", "b"}, []string{"a", "b", "c"}, []string{"c"}},
		{"ring dropped the oldest", []string{"a", "b", "c"}, []string{"b", "c", "d"}, []string{"d"}},
		{"ring moved past everything", []string{"a"}, []string{"x", "y"}, []string{"x", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cohverb.NewLines(tc.prev, tc.cur); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("newLines(%q, %q) = %q; want %q", tc.prev, tc.cur, got, tc.want)
			}
		})
	}
}

// TestTailFollow: `cohsh tail -f` prints each telemetry line once as the
// worker writes it, and ends with the refusal once the worker is killed.
func TestTailFollow(t *testing.T) {
	h, err := hive.New(testEnv().hive)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	defer l.Close()
	go h.ServeConsoles(l)
	q, err := client.Dial(context.Background(), l.Addr().String(), generated.ConsoleAuthToken)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for _, line := range []string{"attach queen", `spawn {"spawn":"heartbeat","ticks":5}`, "echo /worker/worker-1/telemetry one"} {
		if r, err := q.Do(line); err != nil || !r.Ack.OK {
			t.Fatalf("%s: %v %q", line, err, r.AckLine())
		}
	}
	var out, errw testutil.SyncBuffer
	done := make(chan int, 1)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	go func() {
		done <- testEnv().run(context.Background(), []string{"--tcp-port", port, "--role", "queen", "tail", "-f", "/worker/worker-1/telemetry"}, strings.NewReader(""), &out, &errw)
	}()
	waitFor := func(s string) {
		t.Helper()
		for i := 0; !strings.Contains(out.String(), s); i++ {
			if i > 200 {
				t.Fatalf("tail -f output lacks %q:\n%s", s, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("one")
	if r, err := q.Do("echo /worker/worker-1/telemetry two"); err != nil || !r.Ack.OK {
		t.Fatalf("echo two: %v %q", err, r.AckLine())
	}
	waitFor("two")
	if r, err := q.Do("kill worker-1"); err != nil || !r.Ack.OK {
		t.Fatalf("kill: %v %q", err, r.AckLine())
	}
	if code := <-done; code != exitFailed {
		t.Errorf("tail -f after kill exited %d; want %d", code, exitFailed)
	}
	got := out.String()
	if strings.Count(got, "one\n") != 1 || strings.Count(got, "two\n") != 1 {
		t.Errorf("tail -f printed lines more than once:\n%s", got)
	}
	if !strings.Contains(got, "ERR TAIL reason=policy detail=invalid-path path=/worker/worker-1/telemetry") {
		t.Errorf("tail -f did not end with the refusal:\n%s", got)
	}
}
