package hive

import (
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// queenTicketAt is a queen ticket issued at issuedMs with ttl seconds.
func queenTicketAt(t *testing.T, issuedMs uint64, ttl uint64) string {
	t.Helper()
	tok, err := ticket.Mint(ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: issuedMs, TTLs: &ttl}, secretFor(t, ticket.RoleQueen))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tcpConsole serves a framed TCP console on a pipe, authenticated; the
// returned reader sees the server's frames.
func tcpConsole(t *testing.T, h *testHive) (net.Conn, *console.FrameReader) {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); h.ServeConsole(server) }()
	t.Cleanup(func() { client.Close(); <-done })
	fr := console.NewFrameReader(client, console.ManifestLimits())
	if _, err := client.Write(console.AppendFrame(nil, console.AuthLine(generated.ConsoleAuthToken))); err != nil {
		t.Fatal(err)
	}
	if got, err := fr.Next(false); err != nil || got != "OK AUTH" {
		t.Fatalf("AUTH = %q, %v", got, err)
	}
	return client, fr
}

func tcpDo(t *testing.T, c net.Conn, fr *console.FrameReader, line string) string {
	t.Helper()
	if _, err := c.Write(console.AppendFrame(nil, line)); err != nil {
		t.Fatalf("write %q: %v", line, err)
	}
	got, err := fr.Next(true)
	if err != nil {
		t.Fatalf("reply to %q: %v", line, err)
	}
	return got
}

// waitEOF reads until the server closes the console (bounded).
func waitEOF(t *testing.T, c net.Conn, fr *console.FrameReader, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range 64 {
		l, err := fr.Next(true)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: read %v; want EOF", what, err)
		}
		_ = l
	}
	t.Fatalf("%s: connection not closed", what)
}

func TestConsoleRefusesFutureTickets(t *testing.T) {
	h := newTestHive(t)
	skew := uint64(generated.TicketLimitsClockSkewMs)
	atSkew := queenTicketAt(t, epochMs+skew, 60)
	if got := h.run(t, h.session(), "attach queen "+atSkew); !slices.Equal(got, []string{"OK ATTACH role=queen"}) {
		t.Fatalf("attach issued at now+skew = %q; want OK", got)
	}
	beyond := queenTicketAt(t, epochMs+skew+1, 60)
	if got := h.run(t, h.session(), "attach queen "+beyond); !slices.Equal(got, []string{"ERR ATTACH reason=quota detail=invalid-claims"}) {
		t.Fatalf("attach issued at now+skew+1 = %q; want ERR ATTACH reason=quota detail=invalid-claims", got)
	}
	if !h.logHas("ui-ticket outcome=deny reason=not-yet-valid role=queen ticket=" + ticket.MaskToken(beyond)) {
		t.Error("log lacks the not-yet-valid line")
	}
}

func TestConsoleExpiredTicketEndsTheSession(t *testing.T) {
	h := newTestHive(t)
	tok := queenTicketAt(t, epochMs, 3600) // the real-time timer is an hour away
	cs := h.console.NewSession(queen.Peer{Transport: "test"}, nil)
	h.run(t, cs, "attach queen "+tok)
	if got := h.run(t, cs, "ping"); got[len(got)-1] != "OK PING reply=pong" {
		t.Fatalf("ping before expiry = %q", got)
	}
	other := h.session()
	h.run(t, other, "attach queen")
	h.clock.Advance(3600 * 1000)
	out, quit := cs.Dispatch("cat /log/queen.log")
	if !slices.Equal(out, []string{"ERR CAT reason=quota detail=expired"}) || !quit {
		t.Fatalf("cat after expiry = %q, quit %v; want ERR CAT reason=quota detail=expired and the end", out, quit)
	}
	h.barrier()
	if !h.logHas("session expired transport=test session=") || !h.logHas("ticket="+ticket.MaskToken(tok)) {
		t.Error("log lacks the session expired line")
	}
	if got := h.run(t, cs, "ping"); got[len(got)-1] != "OK PING reply=pong" {
		t.Errorf("ping on a detached conversation = %q", got)
	}
	if got := h.run(t, cs, "log"); got[0] != "ERR LOG reason=policy detail=unauthenticated" {
		t.Errorf("log after the session ended = %q; want unauthenticated", got)
	}
	if got := h.run(t, other, "log"); got[0] != "OK LOG" {
		t.Errorf("another queen session after the expiry: log = %q", got)
	}
}

func TestConsoleExpiredTicketClosesTCP(t *testing.T) {
	h := newTestHive(t)
	c, fr := tcpConsole(t, h)
	if got := tcpDo(t, c, fr, "attach queen "+queenTicketAt(t, epochMs, 3600)); got != "OK ATTACH role=queen" {
		t.Fatalf("attach = %q", got)
	}
	h.clock.Advance(3600 * 1000)
	if got := tcpDo(t, c, fr, "ping"); got != "ERR PING reason=quota detail=expired" {
		t.Fatalf("ping after expiry = %q", got)
	}
	waitEOF(t, c, fr, "after the expired reply")
	h.barrier()
	if !h.logHas("audit tcp.conn.close reason=session-expired") {
		t.Error("log lacks the connection close reason")
	}
}

func TestConsoleExpiryTimerClosesIdleTCP(t *testing.T) {
	h := newTestHive(t)
	c, fr := tcpConsole(t, h)
	// Issued 900 ms ago with a 1 s TTL: expires in about 100 ms.
	if got := tcpDo(t, c, fr, "attach queen "+queenTicketAt(t, epochMs-900, 1)); got != "OK ATTACH role=queen" {
		t.Fatalf("attach = %q", got)
	}
	waitEOF(t, c, fr, "idle session at expiry")
	h.barrier()
	if !h.logHas("session expired transport=tcp session=") {
		t.Error("log lacks the session expired line")
	}
}

func TestConsoleKillEndsTheWorkersSessions(t *testing.T) {
	h := newTestHive(t)
	q := h.session()
	h.run(t, q, "attach queen")
	h.run(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`)
	tok := workerTicket(t, "worker-1")
	c, fr := tcpConsole(t, h)
	if got := tcpDo(t, c, fr, "attach worker "+tok); got != "OK ATTACH role=worker-heartbeat" {
		t.Fatalf("worker attach = %q", got)
	}
	direct := h.session()
	h.run(t, direct, "attach worker "+tok)
	if got := h.run(t, direct, "cat /log/queen.log"); !strings.HasPrefix(got[0], "OK CAT path=/log/queen.log") {
		t.Fatalf("worker cat before the kill = %q", got)
	}
	if got := h.run(t, q, "kill worker-1"); got[0] != "OK KILL id=worker-1" {
		t.Fatalf("kill = %q", got)
	}
	waitEOF(t, c, fr, "killed worker's TCP console")
	out, quit := direct.Dispatch("cat /log/queen.log")
	if !slices.Equal(out, []string{"ERR CAT reason=policy detail=revoked"}) || !quit {
		t.Errorf("killed worker's cat = %q, quit %v; want ERR CAT reason=policy detail=revoked and the end", out, quit)
	}
	h.barrier()
	if !h.logHas("session revoked worker=worker-1 reason=kill transport=tcp session=") {
		t.Error("log lacks the session revoked line for the TCP session")
	}
	if got := h.run(t, q, "log"); got[0] != "OK LOG" {
		t.Errorf("queen log after the kill = %q", got)
	}
}
