package tests

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Issue 12 finding 6: authority is checked on every operation, not only at
// attach. The attacker holds a valid ticket and keeps its sessions open
// past the ticket's expiry or its worker's kill, from 127.0.0.2 (9P) and
// 127.0.0.3 (console); the operator on 127.0.0.1 is served throughout.

// authDial dials addr from the loopback address ip.
func authDial(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// authMint mints a ticket with the manifest secret of its role.
func authMint(t *testing.T, c ticket.Claims) string {
	t.Helper()
	secret, ok := ticket.ManifestSecret(c.Role)
	if !ok {
		t.Fatalf("no manifest secret for %s", c.Role)
	}
	tok, err := ticket.Mint(c, secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// authNine is a hand-driven 9P2000.L connection.
type authNine struct {
	t  *testing.T
	nc net.Conn
}

var authLE = binary.LittleEndian

// 9P2000.L message types used here.
const (
	auth9Rlerror  = 7
	auth9Tlopen   = 12
	auth9Tversion = 100
	auth9Tattach  = 104
	auth9Twalk    = 110
	auth9Tread    = 116
	auth9Twrite   = 118
)

// rpc sends one request (fields: uint16, uint32, uint64, string as a 9P
// str, []byte verbatim) and returns the reply's type and body; err is set
// when the connection ended instead.
func (n *authNine) rpc(typ byte, fields ...any) (byte, []byte, error) {
	b := []byte{0, 0, 0, 0, typ, 1, 0}
	if typ == auth9Tversion {
		b[5], b[6] = 0xff, 0xff
	}
	for _, f := range fields {
		switch v := f.(type) {
		case uint16:
			b = authLE.AppendUint16(b, v)
		case uint32:
			b = authLE.AppendUint32(b, v)
		case uint64:
			b = authLE.AppendUint64(b, v)
		case string:
			b = authLE.AppendUint16(b, uint16(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			n.t.Fatalf("rpc: field %T", f)
		}
	}
	authLE.PutUint32(b, uint32(len(b)))
	n.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := n.nc.Write(b); err != nil {
		return 0, nil, err
	}
	var hdr [7]byte
	if _, err := io.ReadFull(n.nc, hdr[:]); err != nil {
		return 0, nil, err
	}
	body := make([]byte, authLE.Uint32(hdr[:])-7)
	if _, err := io.ReadFull(n.nc, body); err != nil {
		return 0, nil, err
	}
	return hdr[4], body, nil
}

// errno returns the Rlerror errno of a reply, 0 for any other reply.
func authErrno(typ byte, body []byte) linux.Errno {
	if typ == auth9Rlerror && len(body) >= 4 {
		return linux.Errno(authLE.Uint32(body))
	}
	return 0
}

// ok runs a request that must succeed and returns the reply body.
func (n *authNine) ok(what string, typ byte, fields ...any) []byte {
	n.t.Helper()
	rt, body, err := n.rpc(typ, fields...)
	if err != nil || authErrno(rt, body) != 0 {
		n.t.Fatalf("%s: errno %v, err %v", what, authErrno(rt, body), err)
	}
	return body
}

// authDialNine connects from ip and attaches with tok as fid 0.
func authDialNine(t *testing.T, ip, addr, tok string) (*authNine, linux.Errno) {
	t.Helper()
	n := &authNine{t: t, nc: authDial(t, ip, addr)}
	n.ok("Tversion", auth9Tversion, uint32(generated.Secure9pMsize), "9P2000.L")
	rt, body, err := n.rpc(auth9Tattach, uint32(0), uint32(0xffffffff), "", tok, uint32(0xffffffff))
	if err != nil {
		t.Fatalf("Tattach: %v", err)
	}
	return n, authErrno(rt, body)
}

// open walks fid 0 to newfid along path and opens it with flags.
func (n *authNine) open(newfid uint32, path string, flags uint32) {
	n.t.Helper()
	fields := []any{uint32(0), newfid, uint16(len(strings.Split(path, "/")))}
	for _, c := range strings.Split(path, "/") {
		fields = append(fields, c)
	}
	n.ok("Twalk "+path, auth9Twalk, fields...)
	n.ok("Tlopen "+path, auth9Tlopen, newfid, flags)
}

// refusedThenClosed checks that a request met an ended session: it is
// answered want, or finds the connection already closed; either way the
// server then closes the connection.
func (n *authNine) refusedThenClosed(what string, want linux.Errno, typ byte, fields ...any) {
	n.t.Helper()
	rt, body, err := n.rpc(typ, fields...)
	if err == nil && authErrno(rt, body) != want {
		n.t.Fatalf("%s on an ended session: reply type %d errno %v; want %v or a closed connection", what, rt, authErrno(rt, body), want)
	}
	n.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := n.nc.Read(make([]byte, 1)); err == nil || authIsTimeout(err) {
		n.t.Fatalf("%s: connection still open after the refusal (%v)", what, err)
	}
}

func authIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// authConsole is a hand-driven framed TCP console.
type authConsole struct {
	t  *testing.T
	nc net.Conn
	fr *console.FrameReader
}

func authDialConsole(t *testing.T, ip, addr string) *authConsole {
	t.Helper()
	c := &authConsole{t: t, nc: authDial(t, ip, addr)}
	c.fr = console.NewFrameReader(c.nc, console.ManifestLimits())
	if got, err := c.do(console.AuthLine(generated.ConsoleAuthToken)); err != nil || got != "OK AUTH" {
		t.Fatalf("AUTH = %q, %v", got, err)
	}
	return c
}

// do sends line and returns the ACK (payload lines before it skipped);
// err is set when the connection ended instead.
func (c *authConsole) do(line string) (string, error) {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(console.AppendFrame(nil, line)); err != nil {
		return "", err
	}
	for range 1024 {
		l, err := c.fr.Next(true)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(l, "OK ") || strings.HasPrefix(l, "ERR ") {
			return l, nil
		}
	}
	return "", errors.New("no ACK in 1024 lines")
}

// drain reads what follows an ACK (a stream's lines) up to END.
func (c *authConsole) drain() {
	for range 1024 {
		l, err := c.fr.Next(true)
		if err != nil || l == console.End {
			return
		}
	}
}

// refusedThenClosed is authNine.refusedThenClosed for the console: want
// is the ERR line.
func (c *authConsole) refusedThenClosed(line, want string) {
	c.t.Helper()
	if got, err := c.do(line); err == nil && got != want {
		c.t.Fatalf("%s on an ended session = %q; want %q or a closed connection", line, got, want)
	}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range 64 {
		if _, err := c.fr.Next(true); err != nil {
			if authIsTimeout(err) {
				c.t.Fatalf("%s: console still open after the refusal", line)
			}
			return
		}
	}
	c.t.Fatalf("%s: console still talking after the refusal", line)
}

// operator is the honest queen on 127.0.0.1 with one worker spawned.
func authOperator(t *testing.T, rt *rootTask) *client.Conn {
	t.Helper()
	q := rt.console(t)
	expectAck(t, q, "attach queen", "OK ATTACH role=queen")
	expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
	return q
}

func authLogHas(t *testing.T, q *client.Conn, prefix string) bool {
	t.Helper()
	return slices.ContainsFunc(logLines(t, q), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

func TestHostileAuthorityExpiredTicket(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	q := authOperator(t, rt)

	const ttlS = 3
	issued := uint64(time.Now().UnixMilli())
	ttl := uint64(ttlS)
	tok := authMint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: issued, TTLs: &ttl})

	nine, e := authDialNine(t, "127.0.0.2", rt.NinePAddr, tok)
	if e != 0 {
		t.Fatalf("9P attach with a fresh 3 s ticket = %v", e)
	}
	nine.open(1, "worker/worker-1/telemetry", 1) // O_WRONLY
	early := []byte("early\n")
	nine.ok("write before expiry", auth9Twrite, uint32(1), uint64(0), uint32(len(early)), early)
	con := authDialConsole(t, "127.0.0.3", rt.ConsoleAddr)
	if got, err := con.do("attach worker " + tok); got != "OK ATTACH role=worker-heartbeat" {
		t.Fatalf("console attach = %q, %v", got, err)
	}
	if got, err := con.do("cat /log/queen.log"); !strings.HasPrefix(got, "OK CAT") {
		t.Fatalf("console cat before expiry = %q, %v", got, err)
	}
	con.drain()

	time.Sleep(time.Until(time.UnixMilli(int64(issued + ttlS*1000 + 200))))
	late := []byte("late\n")
	nine.refusedThenClosed("write after expiry", linux.EPERM, auth9Twrite, uint32(1), uint64(0), uint32(len(late)), late)
	con.refusedThenClosed("cat /log/queen.log", "ERR CAT reason=quota detail=expired")

	// The operator is served; the late write never landed.
	lines := cat(t, q, "/worker/worker-1/telemetry")
	if !slices.Contains(lines, "early") || slices.Contains(lines, "late") {
		t.Errorf("worker-1 telemetry = %q; want early and not late", lines)
	}
	for _, want := range []string{"session expired transport=9p session=", "session expired transport=tcp session="} {
		if !authLogHas(t, q, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestHostileAuthorityFutureTicket(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	q := authOperator(t, rt)

	future := uint64(time.Now().Add(27 * time.Hour).UnixMilli())
	ttl := uint64(3)
	tok := authMint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: future, TTLs: &ttl})
	if _, e := authDialNine(t, "127.0.0.2", rt.NinePAddr, tok); e != linux.EPERM {
		t.Errorf("9P attach with a ticket issued 27 h ahead = errno %v; want EPERM", e)
	}
	con := authDialConsole(t, "127.0.0.3", rt.ConsoleAddr)
	if got, err := con.do("attach worker " + tok); got != "ERR ATTACH reason=quota detail=invalid-claims" {
		t.Errorf("console attach with a ticket issued 27 h ahead = %q, %v; want ERR ATTACH reason=quota detail=invalid-claims", got, err)
	}
	if got, _ := con.do("cat /log/queen.log"); got != "ERR CAT reason=policy detail=unauthenticated" {
		t.Errorf("after the refused attach, cat = %q; want unauthenticated", got)
	}
	masked := ticket.MaskToken(tok)
	if !authLogHas(t, q, "ui-ticket outcome=deny reason=not-yet-valid role=worker-heartbeat ticket="+masked) {
		t.Error("log lacks the not-yet-valid refusal with the masked ticket")
	}
	if !authLogHas(t, q, "nine-door: attach denied role=worker-heartbeat reason=not-yet-valid") {
		t.Error("log lacks the 9P attach denial")
	}
	// A ticket issued now is still good on both transports.
	now := authMint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: uint64(time.Now().UnixMilli())})
	// (From another address: 127.0.0.2 is held back by its refusal, P7.)
	if _, e := authDialNine(t, "127.0.0.4", rt.NinePAddr, now); e != 0 {
		t.Errorf("9P attach with a ticket issued now = errno %v", e)
	}
}

func TestHostileAuthorityKilledWorker(t *testing.T) {
	bin := binaries(t, "roottask")
	rt := startRootTask(t, bin, false)
	q := authOperator(t, rt)
	tok := authMint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: uint64(time.Now().UnixMilli())})

	nine, e := authDialNine(t, "127.0.0.2", rt.NinePAddr, tok)
	if e != 0 {
		t.Fatalf("9P attach = %v", e)
	}
	nine.open(1, "log/queen.log", 0) // O_RDONLY
	nine.ok("read before the kill", auth9Tread, uint32(1), uint64(0), uint32(512))
	con := authDialConsole(t, "127.0.0.3", rt.ConsoleAddr)
	if got, err := con.do("attach worker " + tok); got != "OK ATTACH role=worker-heartbeat" {
		t.Fatalf("console attach = %q, %v", got, err)
	}
	if got, err := con.do("cat /log/queen.log"); !strings.HasPrefix(got, "OK CAT") {
		t.Fatalf("console cat before the kill = %q, %v", got, err)
	}
	con.drain()

	expectAck(t, q, "kill worker-1", "OK KILL id=worker-1")
	nine.refusedThenClosed("read after the kill", linux.EBADF, auth9Tread, uint32(1), uint64(0), uint32(512))
	con.refusedThenClosed("cat /log/queen.log", "ERR CAT reason=policy detail=revoked")

	// The operator keeps working, and the log names worker and sessions.
	for _, want := range []string{
		"session revoked worker=worker-1 reason=kill transport=9p session=",
		"session revoked worker=worker-1 reason=kill transport=tcp session=",
	} {
		if !authLogHas(t, q, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// The dead worker's ticket attaches nowhere again.
	again := authDialConsole(t, "127.0.0.4", rt.ConsoleAddr)
	if got, err := again.do("attach worker " + tok); got != "ERR ATTACH reason=policy detail=revoked" {
		t.Errorf("console attach with the killed worker's ticket = %q, %v; want ERR ATTACH reason=policy detail=revoked", got, err)
	}
	if _, e := authDialNine(t, "127.0.0.5", rt.NinePAddr, tok); e != linux.ENOENT {
		t.Errorf("9P attach with the killed worker's ticket = errno %v; want ENOENT (worker not found)", e)
	}
	expectAck(t, q, `spawn {"spawn":"heartbeat","ticks":100000}`, `OK SPAWN payload={"spawn":"heartbeat","ticks":100000}`)
}
