package netguard

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeListener hands out what is queued on next: a net.Conn or an error.
type fakeListener struct {
	next   chan any
	closed chan struct{}
	once   sync.Once
}

func newFakeListener() *fakeListener {
	return &fakeListener{next: make(chan any, 64), closed: make(chan struct{})}
}

func (l *fakeListener) Accept() (net.Conn, error) {
	select {
	case v := <-l.next:
		if c, ok := v.(net.Conn); ok {
			return c, nil
		}
		return nil, v.(error)
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *fakeListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// fakeConn is a connection from remote whose reads block until Close.
type fakeConn struct {
	net.Conn // nil: only the methods below are used
	remote   net.Addr
	closed   chan struct{}
	once     sync.Once
}

func newConn(ip string, port int) *fakeConn {
	return &fakeConn{remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}, closed: make(chan struct{})}
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.remote }
func (c *fakeConn) Close() error         { c.once.Do(func() { close(c.closed) }); return nil }
func (c *fakeConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", errno)}
}

// auditLog collects audit lines.
type auditLog struct {
	mu    sync.Mutex
	lines []string
}

func (a *auditLog) write(l string) { a.mu.Lock(); a.lines = append(a.lines, l); a.mu.Unlock() }
func (a *auditLog) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.lines...)
}

func testConfig(a *auditLog, st *Stats) Config {
	cfg := DefaultConfig("test")
	cfg.Audit, cfg.Stats = a.write, st
	cfg.AuditWindow = time.Hour
	return cfg
}

func TestServeBacksOffThenReturnsPermanentError(t *testing.T) {
	l := newFakeListener()
	for range 5 {
		l.next <- acceptErr(syscall.EMFILE)
	}
	c := newConn("127.0.0.1", 1)
	l.next <- c
	l.next <- acceptErr(syscall.ECONNABORTED)
	permanent := acceptErr(syscall.EINVAL)
	l.next <- permanent

	var a auditLog
	var st Stats
	cfg := testConfig(&a, &st)
	cfg.BackoffMax = 20 * time.Millisecond
	var delays []time.Duration
	cfg.wait = func(_ context.Context, d time.Duration) { delays = append(delays, d) }
	handled := make(chan net.Conn, 1)
	err := Serve(context.Background(), l, cfg, func(c net.Conn) { handled <- c; c.Close() })

	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Serve = %v; want the permanent EINVAL", err)
	}
	if got := <-handled; got != c {
		t.Errorf("handled %v; want the accepted connection", got)
	}
	ms := time.Millisecond
	want := []time.Duration{5 * ms, 10 * ms, 20 * ms, 20 * ms, 20 * ms, 5 * ms} // doubling, capped, reset by a success
	if len(delays) != len(want) {
		t.Fatalf("delays = %v; want %v", delays, want)
	}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays = %v; want %v", delays, want)
		}
	}
	if got := st.AcceptErrors.Load(); got != 7 {
		t.Errorf("accept_errors = %d; want 7", got)
	}
	if got := st.Backoffs.Load(); got != 6 {
		t.Errorf("backoffs = %d; want 6", got)
	}
	lines := a.get()
	if len(lines) != 2 || !strings.Contains(lines[0], "accept backoff listener=test") || !strings.Contains(lines[1], "accept failed listener=test") {
		t.Errorf("audit = %q; want one backoff line for the window and the final failure", lines)
	}
}

func TestServeReturnsNilWhenListenerClosed(t *testing.T) {
	l := newFakeListener()
	l.Close()
	if err := Serve(context.Background(), l, DefaultConfig("test"), func(c net.Conn) { c.Close() }); err != nil {
		t.Errorf("Serve on a closed listener = %v; want nil", err)
	}
}

func TestServeCapsConnectionsPerPeer(t *testing.T) {
	l := newFakeListener()
	var a auditLog
	var st Stats
	cfg := testConfig(&a, &st)
	cfg.MaxConnsPerPeer = 2
	handled := make(chan *fakeConn, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, cfg, func(c net.Conn) {
			handled <- c.(*fakeConn)
			<-c.(*fakeConn).closed
		})
	}()

	attacker := make([]*fakeConn, 5)
	for i := range attacker {
		attacker[i] = newConn("127.0.0.2", 1000+i)
		l.next <- attacker[i]
	}
	honest := newConn("127.0.0.1", 2000)
	l.next <- honest
	got := map[*fakeConn]bool{}
	for range 3 {
		select {
		case c := <-handled:
			got[c] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("handled %d connections; want 3", len(got))
		}
	}
	if !got[attacker[0]] || !got[attacker[1]] || !got[honest] {
		t.Errorf("served the wrong connections: first two from 127.0.0.2 and 127.0.0.1 expected")
	}
	for i, c := range attacker[2:] {
		if !c.isClosed() {
			t.Errorf("connection %d from 127.0.0.2 over the cap is open; want closed", i+2)
		}
	}
	if st.RefusedPeerCap.Load() != 3 || st.Open.Load() != 3 {
		t.Errorf("stats %q; want refused_peer_cap=3 open=3", st.Line())
	}
	if lines := a.get(); len(lines) != 1 || !strings.Contains(lines[0], "remote=127.0.0.2:1002 reason=peer-cap") {
		t.Errorf("audit = %q; want one peer-cap line for the window", lines)
	}

	// A peer under the cap again is served again.
	attacker[0].Close()
	for deadline := time.Now().Add(10 * time.Second); st.Open.Load() != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("open = %d after a close; want 2", st.Open.Load())
		}
		time.Sleep(time.Millisecond)
	}
	again := newConn("127.0.0.2", 3000)
	l.next <- again
	select {
	case c := <-handled:
		if c != again {
			t.Errorf("served %v; want the new 127.0.0.2 connection", c.remote)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a peer back under the cap was not served")
	}

	// Ending ctx closes every live connection and Serve waits for them.
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel = %v; want nil", err)
	}
	for _, c := range []*fakeConn{attacker[1], honest, again} {
		if !c.isClosed() {
			t.Errorf("connection %v open after ctx ended", c.remote)
		}
	}
	if st.Open.Load() != 0 {
		t.Errorf("open = %d after Serve returned; want 0", st.Open.Load())
	}
}

func TestTemporary(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"EMFILE", acceptErr(syscall.EMFILE), true},
		{"ENFILE", acceptErr(syscall.ENFILE), true},
		{"ECONNABORTED", acceptErr(syscall.ECONNABORTED), true},
		{"ENOBUFS", acceptErr(syscall.ENOBUFS), true},
		{"timeout", os.ErrDeadlineExceeded, true},
		{"EINVAL", acceptErr(syscall.EINVAL), false},
		{"EBADF", acceptErr(syscall.EBADF), false},
		{"plain", errors.New("listener broken"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Temporary(tc.err); got != tc.want {
				t.Errorf("Temporary(%v) = %v; want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	var s Summary
	t0 := time.Unix(1000, 0)
	w := 10 * time.Second
	steps := []struct {
		at    time.Duration
		write bool
		held  uint64
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{9 * time.Second, false, 0},
		{10 * time.Second, true, 2},
		{11 * time.Second, false, 0},
		{time.Minute, true, 1},
	}
	for _, st := range steps {
		write, held := s.Note(t0.Add(st.at), w)
		if write != st.write || held != st.held {
			t.Errorf("Note(+%v) = %v, %d; want %v, %d", st.at, write, held, st.write, st.held)
		}
	}
}

func TestPeerAddr(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 5}, "127.0.0.2"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.3"), Port: 5}, "127.0.0.3"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 5}, "::1"},
		{&net.UnixAddr{Name: "@x", Net: "unix"}, "invalid IP"},
	} {
		if got := PeerAddr(tc.addr).String(); got != tc.want {
			t.Errorf("PeerAddr(%v) = %s; want %s", tc.addr, got, tc.want)
		}
	}
}

// TestLimit: a listener wrapped by Limit closes a peer's connection over
// the cap at once (counted, audited), keeps serving other peers, and gives
// the peer its place back when one of its connections is closed.
func TestLimit(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	var lines []string
	var mu sync.Mutex
	l := Limit(inner, Config{Name: "http", MaxConnsPerPeer: 2, Stats: &st, Audit: func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() }})
	defer l.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(ip string) net.Conn {
		c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	take := func() net.Conn {
		select {
		case c := <-accepted:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no connection accepted")
			return nil
		}
	}
	dial("127.0.0.1")
	first := take()
	dial("127.0.0.1")
	take()
	over := dial("127.0.0.1")
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := over.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("third connection from one peer: read = %v; want it closed", err)
	}
	dial("127.0.0.2") // another peer is served meanwhile
	take()
	if n := st.RefusedPeerCap.Load(); n != 1 {
		t.Errorf("refused_peer_cap = %d; want 1", n)
	}
	mu.Lock()
	if len(lines) != 1 || !strings.Contains(lines[0], "reason=peer-cap") || !strings.Contains(lines[0], "listener=http") {
		t.Errorf("audit lines = %q; want one peer-cap line", lines)
	}
	mu.Unlock()
	first.Close()
	first.Close() // a second Close gives nothing back twice
	dial("127.0.0.1")
	take()
	if n := st.Open.Load(); n != 3 {
		t.Errorf("open = %d; want 3 (two of 127.0.0.1, one of 127.0.0.2)", n)
	}
}

// A closed connection starts the memory returns only on a listener that
// asks for them (Config.ReturnMemory): the hive's do, hive-gateway's,
// bounded by its memory limit, does not.
func TestReturnMemoryOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l := Limit(inner, Config{Name: "t", ReturnMemory: on})
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		before := lastClose.Load()
		s.Close()
		if noted := lastClose.Load() != before; noted != on {
			t.Errorf("ReturnMemory %t: a close was noted for memory return: %t", on, noted)
		}
		c.Close()
		l.Close()
	}
}
