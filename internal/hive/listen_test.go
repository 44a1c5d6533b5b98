package hive

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/testutil"
)

// TestConsoleDeadlinesHoldOnHalfHeader: a console connection that sends
// half a frame header and stops is closed by the AUTH deadline before
// AUTH and by the idle timeout after it, and each is counted in
// /proc/net/console. The hive sets socket deadlines from its clock, so
// the test sets the fake clock such that the manifest timeout ends a
// moment from now.
func TestConsoleDeadlinesHoldOnHalfHeader(t *testing.T) {
	h := newTestHive(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go h.ServeConsoles(l)
	soon := func(timeoutMs int) {
		h.clock.ms.Store(time.Now().Add(200*time.Millisecond).UnixMilli() - int64(timeoutMs))
	}
	half := []byte{0x20, 0x00}
	lim := console.ManifestLimits()

	t.Run("before AUTH", func(t *testing.T) {
		soon(generated.ConsoleAuthTimeoutMs)
		nc := dialConsole(t, l.Addr().String())
		if _, err := nc.Write(half); err != nil {
			t.Fatal(err)
		}
		if !testutil.ClosedByPeer(nc, 10*time.Second) {
			t.Fatal("half-header connection before AUTH still open 10 s after its AUTH deadline")
		}
		if got := h.ns.ConsoleNet().HandshakeTimeouts.Load(); got != 1 {
			t.Errorf("handshake_timeouts = %d; want 1", got)
		}
	})

	t.Run("after AUTH", func(t *testing.T) {
		h.clock.ms.Store(epochMs)
		nc := dialConsole(t, l.Addr().String())
		fr := console.NewFrameReader(bufio.NewReader(nc), lim)
		if _, err := nc.Write(console.AppendFrame(nil, console.AuthLine(generated.ConsoleAuthToken))); err != nil {
			t.Fatal(err)
		}
		if line, err := fr.Next(true); err != nil || line != "OK AUTH" {
			t.Fatalf("AUTH = %q, %v", line, err)
		}
		// The deadline for the frame after ping comes from the clock then.
		soon(generated.ConsoleIdleTimeoutMs)
		if _, err := nc.Write(console.AppendFrame(nil, "ping")); err != nil {
			t.Fatal(err)
		}
		for range 2 { // PONG, OK PING
			if _, err := fr.Next(true); err != nil {
				t.Fatalf("ping reply: %v", err)
			}
		}
		if _, err := nc.Write(half); err != nil {
			t.Fatal(err)
		}
		if !testutil.ClosedByPeer(nc, 10*time.Second) {
			t.Fatal("half-header connection after AUTH still open 10 s after its idle timeout")
		}
		if got := h.ns.ConsoleNet().IdleTimeouts.Load(); got != 1 {
			t.Errorf("idle_timeouts = %d; want 1", got)
		}
	})
}

// TestConsoleIdleTimeoutBoundsWrites: an authenticated peer that keeps
// sending but never takes its replies is closed by the idle timeout (over
// a net.Pipe, which buffers nothing, the first reply blocks).
func TestConsoleIdleTimeoutBoundsWrites(t *testing.T) {
	h := newTestHive(t)
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	done := make(chan struct{})
	go func() { h.ServeConsole(server); close(done) }()
	client.SetDeadline(time.Now().Add(time.Minute))
	fr := console.NewFrameReader(client, console.ManifestLimits())
	if _, err := client.Write(console.AppendFrame(nil, console.AuthLine(generated.ConsoleAuthToken))); err != nil {
		t.Fatal(err)
	}
	if line, err := fr.Next(true); err != nil || line != "OK AUTH" {
		t.Fatalf("AUTH = %q, %v", line, err)
	}
	h.clock.ms.Store(time.Now().Add(200*time.Millisecond).UnixMilli() - int64(generated.ConsoleIdleTimeoutMs))
	go func() {
		for range 10000 { // replies that are never read
			if _, err := client.Write(console.AppendFrame(nil, "ping")); err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("console session that takes no replies still served 10 s after its idle timeout")
	}
}

func dialConsole(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}
