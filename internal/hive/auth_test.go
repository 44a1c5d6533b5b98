package hive

import (
	"net"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
)

// hello sends one AUTH hello over a fresh pipe and returns the reply.
func (h *testHive) hello(token string) string {
	h.t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); h.ServeConsole(server) }()
	defer func() { client.Close(); <-done }()
	go client.Write(console.AppendFrame(nil, console.AuthLine(token)))
	got, err := console.NewFrameReader(client, console.ManifestLimits()).Next(true)
	if err != nil {
		h.t.Fatalf("hello %q: %v", token, err)
	}
	return got
}

// TestAuthThrottle: AUTH failures meet the peer's back-off and lockout
// under the hive's clock; a held-back hello is refused even with the right
// token, and an accepted AUTH does not clear the count.
func TestAuthThrottle(t *testing.T) {
	h := newTestHive(t)
	tok := generated.ConsoleAuthToken
	steps := []struct {
		advanceMs int64
		token     string
		want      string
	}{
		{0, "x", "ERR AUTH reason=invalid-token"}, // wrong length: the same word
		{0, tok, "ERR AUTH reason=throttled delay_ms=250"},
		{100, "wrong", "ERR AUTH reason=throttled delay_ms=150"},
		{150, tok, "OK AUTH"},
		{0, tok + tok, "ERR AUTH reason=invalid-token"}, // second failure
		{499, tok, "ERR AUTH reason=throttled delay_ms=1"},
		{1, "AUTHX", "ERR AUTH reason=invalid-token"}, // third inside the window
		{0, tok, "ERR AUTH reason=rate-limited delay_ms=90000"},
		{90_000, tok, "OK AUTH"},
	}
	for i, s := range steps {
		h.clock.Advance(s.advanceMs)
		if got := h.hello(s.token); got != s.want {
			t.Errorf("step %d: hello = %q; want %q", i, got, s.want)
		}
	}
	log := h.q.Snapshot().Log
	if !containsLine(log, "[cohsh-net][auth] reject reason=invalid-token transport=tcp remote=pipe") {
		t.Errorf("log lacks the reject line with transport and remote: %q", log)
	}
}
