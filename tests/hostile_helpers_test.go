package tests

// Helpers the hostile_*_test.go batteries and their benchmarks share: the
// attacker's raw sockets (a source address on 127.0.0.0/8, 9P frames and
// console frames built by hand), tickets, the root task's memory and the
// honest operator on 127.0.0.1.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

// rawWait bounds each raw read or write: far above any reply on a loaded
// machine, so it only ends a test that would otherwise hang.
const rawWait = 30 * time.Second

// bootLine is the first line of /proc/boot on a root task that is up.
const bootLine = "Cohesix boot: root-task online"

// dialFrom opens a TCP connection to addr from the loopback address ip ("" for any), closed when the test ends.
func dialFrom(t testing.TB, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// 9P2000.L message types and constants the raw client speaks.
const (
	p9Rlerror  = 7
	p9Tlopen   = 12
	p9Tversion = 100
	p9Tattach  = 104
	p9Twalk    = 110
	p9Tread    = 116
	p9Twrite   = 118
	p9Tclunk   = 120
	p9NoFid    = ^uint32(0)
	p9NoTag    = 0xFFFF
)

// p9Frame builds one 9P message from fields: uint16, uint32, uint64, string (a 9P str), []byte (verbatim).
func p9Frame(typ byte, tag uint16, fields ...any) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16([]byte{0, 0, 0, 0, typ}, tag)
	for _, f := range fields {
		switch v := f.(type) {
		case uint16:
			b = le.AppendUint16(b, v)
		case uint32:
			b = le.AppendUint32(b, v)
		case uint64:
			b = le.AppendUint64(b, v)
		case string:
			b = le.AppendUint16(b, uint16(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			panic(fmt.Sprintf("p9Frame: field of type %T", f))
		}
	}
	le.PutUint32(b, uint32(len(b)))
	return b
}

// raw9P is a hand-driven 9P2000.L connection, frame by frame as an attacker would speak.
type raw9P struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// dial9PFrom connects to addr from ip and negotiates 9P2000.L at the manifest's msize.
func dial9PFrom(t testing.TB, ip, addr string) *raw9P {
	t.Helper()
	nc := dialFrom(t, ip, addr)
	c := &raw9P{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.ok("Tversion", p9Tversion, uint32(generated.Secure9pMsize), "9P2000.L")
	return c
}

// send writes frames back to back (a pipeline when there are several); err is set when the connection ended.
func (c *raw9P) send(frames ...[]byte) error {
	_ = c.nc.SetDeadline(time.Now().Add(rawWait))
	_, err := c.nc.Write(slices.Concat(frames...))
	return err
}

// recv reads one reply and returns its type and body; err is set when the connection ended instead.
func (c *raw9P) recv() (byte, []byte, error) {
	var hdr [7]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return 0, nil, err
	}
	body := make([]byte, binary.LittleEndian.Uint32(hdr[:])-7)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return 0, nil, err
	}
	return hdr[4], body, nil
}

// rpc sends one request (tag 1, NOTAG for Tversion) and returns its reply; err is set when the connection ended instead.
func (c *raw9P) rpc(typ byte, fields ...any) (byte, []byte, error) {
	tag := uint16(1)
	if typ == p9Tversion {
		tag = p9NoTag
	}
	if err := c.send(p9Frame(typ, tag, fields...)); err != nil {
		return 0, nil, err
	}
	return c.recv()
}

// p9Errno is the errno of an Rlerror reply, 0 for any other reply.
func p9Errno(typ byte, body []byte) linux.Errno {
	if typ == p9Rlerror && len(body) >= 4 {
		return linux.Errno(binary.LittleEndian.Uint32(body))
	}
	return 0
}

// reply reads the answer to a request of type req: its errno, 0 for success; a closed connection or another reply type fails the test.
func (c *raw9P) reply(req byte) linux.Errno {
	c.t.Helper()
	typ, body, err := c.recv()
	return c.check(req, typ, body, err)
}

// call sends one request that must be answered and returns the reply's errno, 0 for success.
func (c *raw9P) call(typ byte, fields ...any) linux.Errno {
	c.t.Helper()
	rt, body, err := c.rpc(typ, fields...)
	return c.check(typ, rt, body, err)
}

func (c *raw9P) check(req, typ byte, body []byte, err error) linux.Errno {
	c.t.Helper()
	switch {
	case err != nil:
		c.t.Fatalf("9P request type %d: %v", req, err)
	case typ == p9Rlerror && len(body) == 4:
		return p9Errno(typ, body)
	case typ != req+1:
		c.t.Fatalf("9P request type %d answered with type %d", req, typ)
	}
	return 0
}

// ok sends one request that must succeed and returns the reply body.
func (c *raw9P) ok(what string, typ byte, fields ...any) []byte {
	c.t.Helper()
	rt, body, err := c.rpc(typ, fields...)
	if e := c.check(typ, rt, body, err); e != 0 {
		c.t.Fatalf("%s: errno %v", what, e)
	}
	return body
}

// attach sends Tattach for fid with aname (the ticket) and no afid; it returns the errno, 0 for success.
func (c *raw9P) attach(fid uint32, aname string) linux.Errno {
	c.t.Helper()
	return c.call(p9Tattach, fid, p9NoFid, "", aname, p9NoFid)
}

// walk walks fid to newfid along names; it returns the errno, 0 for success.
func (c *raw9P) walk(fid, newfid uint32, names ...string) linux.Errno {
	c.t.Helper()
	f := []any{fid, newfid, uint16(len(names))}
	for _, n := range names {
		f = append(f, n)
	}
	return c.call(p9Twalk, f...)
}

// open walks fid 0 to newfid along path and opens it with flags; both must succeed.
func (c *raw9P) open(newfid uint32, path string, flags uint32) {
	c.t.Helper()
	if e := c.walk(0, newfid, strings.Split(path, "/")...); e != 0 {
		c.t.Fatalf("Twalk %s: errno %v", path, e)
	}
	c.ok("Tlopen "+path, p9Tlopen, newfid, flags)
}

// refusedThenClosed checks that a request met an ended session: answered want or already closed, then closed by the server.
func (c *raw9P) refusedThenClosed(what string, want linux.Errno, typ byte, fields ...any) {
	c.t.Helper()
	rt, body, err := c.rpc(typ, fields...)
	if err == nil && p9Errno(rt, body) != want {
		c.t.Fatalf("%s on an ended session: reply type %d errno %v; want %v or a closed connection", what, rt, p9Errno(rt, body), want)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.br.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		c.t.Fatalf("%s: connection still open after the refusal (%v)", what, err)
	}
}

// isTimeout reports whether err is a deadline passing rather than the peer ending the connection.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rawConsole speaks the TCP console frame by frame, so a test can send frames no well-behaved client would.
type rawConsole struct {
	t  testing.TB
	nc net.Conn
	fr *console.FrameReader
}

// dialConsoleFrom connects to the console at addr from ip ("" for any), not yet authenticated.
func dialConsoleFrom(t testing.TB, ip, addr string) *rawConsole {
	t.Helper()
	nc := dialFrom(t, ip, addr)
	lim := console.ManifestLimits()
	lim.Line = generated.ConsoleFrameMaxBytes // read whatever the server sends
	return &rawConsole{t: t, nc: nc, fr: console.NewFrameReader(bufio.NewReader(nc), lim)}
}

// authedConsoleFrom is dialConsoleFrom authenticated with the manifest token.
func authedConsoleFrom(t testing.TB, ip, addr string) *rawConsole {
	t.Helper()
	c := dialConsoleFrom(t, ip, addr)
	c.auth()
	return c
}

// writeRaw writes b as it is; err is set when the connection ended.
func (c *rawConsole) writeRaw(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(rawWait))
	_, err := c.nc.Write(b)
	return err
}

// frame sends a frame whose header declares total bytes and whose body is body.
func (c *rawConsole) frame(total uint32, body string) {
	c.t.Helper()
	hdr := binary.LittleEndian.AppendUint32(nil, total)
	if err := c.writeRaw(append(hdr, body...)); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// send sends line as one well-formed frame.
func (c *rawConsole) send(line string) {
	c.t.Helper()
	c.frame(uint32(4+len(line)), line)
}

// next reads one line; err is set when the connection ended or rawWait passed.
func (c *rawConsole) next() (string, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(rawWait))
	return c.fr.Next(true)
}

// recv reads one line that must come.
func (c *rawConsole) recv() string {
	c.t.Helper()
	l, err := c.next()
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return l
}

// closed reports whether the server closed the connection within 5 s.
func (c *rawConsole) closed() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.fr.Next(true)
	// A server that closes with our unread bytes in its buffer sends a
	// reset instead of a FIN; both mean closed. A timeout means open.
	return err != nil && !isTimeout(err)
}

// hello sends the AUTH hello with token and returns the reply; err is set when the connection ended instead.
func (c *rawConsole) hello(token string) (string, error) {
	if err := c.writeRaw(console.AppendFrame(nil, console.AuthLine(token))); err != nil {
		return "", err
	}
	return c.next()
}

// auth authenticates with the manifest token; anything but OK AUTH fails the test.
func (c *rawConsole) auth() {
	c.t.Helper()
	if got, err := c.hello(generated.ConsoleAuthToken); err != nil || got != "OK AUTH" {
		c.t.Fatalf("auth = %q, %v", got, err)
	}
}

// do sends line and returns its ACK, skipping payload lines before it; err is set when the connection ended instead.
func (c *rawConsole) do(line string) (string, error) {
	if err := c.writeRaw(console.AppendFrame(nil, line)); err != nil {
		return "", err
	}
	for range 1024 {
		l, err := c.next()
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
func (c *rawConsole) drain() {
	for range 1024 {
		l, err := c.next()
		if err != nil || l == console.End {
			return
		}
	}
}

// refusedThenClosed is raw9P.refusedThenClosed for the console: want is the ERR line.
func (c *rawConsole) refusedThenClosed(line, want string) {
	c.t.Helper()
	if got, err := c.do(line); err == nil && got != want {
		c.t.Fatalf("%s on an ended session = %q; want %q or a closed connection", line, got, want)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range 64 {
		if _, err := c.fr.Next(true); err != nil {
			if isTimeout(err) {
				c.t.Fatalf("%s: console still open after the refusal", line)
			}
			return
		}
	}
	c.t.Fatalf("%s: console still talking after the refusal", line)
}

// helloFrom sends one AUTH hello with token from ip on a fresh connection and returns the reply ("" if none came).
func helloFrom(t testing.TB, ip, addr, token string) string {
	t.Helper()
	c := dialConsoleFrom(t, ip, addr)
	defer c.nc.Close()
	l, _ := c.hello(token)
	return l
}

// mintTicket signs claims with the manifest secret of their role.
func mintTicket(t testing.TB, c ticket.Claims) string {
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

// queenTicketNow is a queen ticket issued now.
func queenTicketNow(t testing.TB) string {
	t.Helper()
	return mintTicket(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: uint64(time.Now().UnixMilli())})
}

// anonRSS is the anonymous resident set of pid in bytes (Linux /proc RssAnon: the heap and stacks a connection can grow; file-backed pages, program text faulted in as new code paths first run, are not memory a peer holds).
func anonRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssAnon:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no RssAnon")
	return 0
}

// queenConsole attaches a queen console to rt.
func queenConsole(t *testing.T, rt *rootTask) *client.Conn {
	t.Helper()
	c := rt.console(t)
	expectAck(t, c, "attach queen", "OK ATTACH role=queen")
	return c
}

// operatorServed checks that the honest operator on 127.0.0.1 authenticates (retrying for up to bound while the hive drains an attack), attaches as queen and reads /proc/boot on the console and on Secure9P; it returns the attached console.
func operatorServed(t *testing.T, rt *rootTask, bound time.Duration) *client.Conn {
	t.Helper()
	var c *client.Conn
	for deadline := time.Now().Add(bound); ; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		c, err = client.Dial(ctx, rt.ConsoleAddr, generated.ConsoleAuthToken)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("operator could not authenticate on %s within %v: %v", rt.ConsoleAddr, bound, err)
		}
	}
	t.Cleanup(func() { c.Close() })
	expectAck(t, c, "attach queen", "OK ATTACH role=queen")
	if boot := cat(t, c, "/proc/boot"); len(boot) == 0 || boot[0] != bootLine {
		t.Fatalf("operator cat /proc/boot = %q", boot)
	}
	operator9P(t, rt)
	return c
}

// operator9P checks that the honest queen on 127.0.0.1 attaches over Secure9P and reads /proc/boot, with raw frames so that a back-off would show rather than be waited out.
func operator9P(t testing.TB, rt *rootTask) {
	t.Helper()
	c := dial9PFrom(t, "127.0.0.1", rt.NinePAddr)
	defer c.nc.Close()
	if e := c.attach(0, queenTicketNow(t)); e != 0 {
		t.Fatalf("operator Tattach = %v; want success", e)
	}
	c.open(1, "proc/boot", 0) // O_RDONLY
	body := c.ok("operator Tread /proc/boot", p9Tread, uint32(1), uint64(0), uint32(4096))
	if len(body) < 4 || !strings.HasPrefix(string(body[4:]), bootLine) {
		t.Fatalf("operator Secure9P read /proc/boot = %q", body)
	}
}
