package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/console"
	"github.com/google/go-cmp/cmp"
)

var lim = console.ManifestLimits()

// fakeHive is a scripted framed console server. reply maps a command line
// to the lines sent back; a nil result closes the connection instead.
type fakeHive struct {
	mu      sync.Mutex
	token   string
	reply   func(conn int, line string) []string
	conns   int
	got     []string // every line received, AUTH included, "#n" marks a new conn
	servers sync.WaitGroup
}

func (f *fakeHive) dial(ctx context.Context) (net.Conn, error) {
	cli, srv := net.Pipe()
	f.mu.Lock()
	f.conns++
	n := f.conns
	f.got = append(f.got, fmt.Sprintf("#%d", n))
	f.mu.Unlock()
	f.servers.Add(1)
	go f.serve(n, srv)
	return cli, nil
}

func (f *fakeHive) record(l string) { f.mu.Lock(); f.got = append(f.got, l); f.mu.Unlock() }

func (f *fakeHive) serve(n int, conn net.Conn) {
	defer f.servers.Done()
	defer conn.Close()
	fr := console.NewFrameReader(conn, lim)
	send := func(lines ...string) {
		var b []byte
		for _, l := range lines {
			b = console.AppendFrame(b, l)
		}
		conn.Write(b)
	}
	hello, err := fr.Next(false)
	if err != nil {
		return
	}
	f.record(hello)
	if r := console.CheckAuth(hello, f.token); r != "" {
		send(console.AuthRefusal(r).Render(lim))
		return
	}
	send("OK AUTH")
	for {
		line, err := fr.Next(true)
		if err != nil {
			return
		}
		f.record(line)
		out := f.reply(n, line)
		if out == nil {
			return
		}
		send(out...)
		if len(out) > 0 && out[len(out)-1] == "OK QUIT" {
			return
		}
	}
}

// standard answers like the root task would.
func standard(_ int, line string) []string {
	switch strings.Fields(line)[0] {
	case "ping":
		return []string{"PONG", "OK PING reply=pong"}
	case "help":
		return []string{"help", "ping", "OK HELP"}
	case "attach":
		return []string{"OK ATTACH role=queen"}
	case "cat":
		return []string{"OK CAT path=/proc/boot data=a|b", "a", "b", "END"}
	case "log":
		return []string{"OK LOG", "l1", "OK FAKE inside stream", "l3", "END"}
	case "tail":
		return []string{"OK TAIL path=/log/queen.log", "t1", "t2", "t3", "END"}
	case "ls":
		return []string{"ERR LS reason=policy detail=unauthenticated"}
	case "quit":
		return []string{"OK QUIT"}
	case "silent":
		return []string{}
	}
	return []string{"ERR PARSE reason=policy detail=unsupported console command"}
}

func newFake(t *testing.T, reply func(int, string) []string) *fakeHive {
	f := &fakeHive{token: "changeme", reply: reply}
	t.Cleanup(f.servers.Wait)
	return f
}

func dialFake(t *testing.T, f *fakeHive, o Options) *Conn {
	t.Helper()
	o.Dial = f.dial
	c, err := DialOptions(context.Background(), "fake:31337", "changeme", o)
	if err != nil {
		t.Fatalf("DialOptions() = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDo(t *testing.T) {
	f := newFake(t, standard)
	c := dialFake(t, f, Options{})
	rows := []struct {
		name, line string
		want       Response
	}{
		{"ping payload before ack", "ping", Response{
			Ack: console.Ack{OK: true, Label: "PING", Detail: "reply=pong"}, HasAck: true,
			Lines: []string{"PONG"}, Raw: []string{"PONG", "OK PING reply=pong"}}},
		{"help text before ack", "help", Response{
			Ack: console.Ack{OK: true, Label: "HELP"}, HasAck: true,
			Lines: []string{"help", "ping"}, Raw: []string{"help", "ping", "OK HELP"}}},
		{"cat stream to END", "cat /proc/boot", Response{
			Ack: console.Ack{OK: true, Label: "CAT", Detail: "path=/proc/boot data=a|b"}, HasAck: true,
			Lines: []string{"a", "b"}, Raw: []string{"OK CAT path=/proc/boot data=a|b", "a", "b", "END"}}},
		{"ack-like line inside stream is payload", "log", Response{
			Ack: console.Ack{OK: true, Label: "LOG"}, HasAck: true,
			Lines: []string{"l1", "OK FAKE inside stream", "l3"},
			Raw:   []string{"OK LOG", "l1", "OK FAKE inside stream", "l3", "END"}}},
		{"refused stream has no END", "ls /", Response{
			Ack: console.Ack{Label: "LS", Detail: "reason=policy detail=unauthenticated"}, HasAck: true,
			Raw: []string{"ERR LS reason=policy detail=unauthenticated"}}},
		{"unknown verb", "frob", Response{
			Ack: console.Ack{Label: "PARSE", Detail: "reason=policy detail=unsupported console command"}, HasAck: true,
			Raw: []string{"ERR PARSE reason=policy detail=unsupported console command"}}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := c.Do(r.line)
			if err != nil {
				t.Fatalf("Do(%q) = %v", r.line, err)
			}
			if diff := cmp.Diff(r.want, got); diff != "" {
				t.Errorf("Do(%q) mismatch (-want +got):\n%s", r.line, diff)
			}
		})
	}
	if _, err := c.Do("ping\nquit"); err == nil {
		t.Errorf("Do(two lines) = nil; want error")
	}
}

func TestTail(t *testing.T) {
	f := newFake(t, standard)
	c := dialFake(t, f, Options{})
	var seen []string
	resp, err := c.Tail("/log/queen.log", func(l string) bool {
		seen = append(seen, l)
		return len(seen) < 2
	})
	if err != nil || !resp.Ack.OK {
		t.Fatalf("Tail() = %+v, %v", resp, err)
	}
	if diff := cmp.Diff([]string{"t1", "t2"}, seen); diff != "" {
		t.Errorf("Tail callback lines (-want +got):\n%s", diff)
	}
	// The stream was drained to END: the next command is in step.
	if r, err := c.Do("ping"); err != nil || r.AckLine() != "OK PING reply=pong" {
		t.Errorf("Do(ping) after Tail = %+v, %v", r, err)
	}
}

func TestAuthRefused(t *testing.T) {
	f := newFake(t, standard)
	_, err := DialOptions(context.Background(), "fake", "wrong-token", Options{Dial: f.dial})
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Line != "ERR AUTH reason=invalid-token" {
		t.Fatalf("DialOptions(bad token) = %v; want AuthError ERR AUTH reason=invalid-token", err)
	}
}

func TestDialUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Dial(context.Background(), addr, "changeme")
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Op != "dial" {
		t.Fatalf("Dial(closed port) = %v; want ConnError dial", err)
	}
}

func TestReconnect(t *testing.T) {
	// The first connection dies on the first "cat"; the client reconnects,
	// re-sends AUTH and the cached ATTACH, then the command.
	f := newFake(t, func(n int, line string) []string {
		if n == 1 && strings.HasPrefix(line, "cat") {
			return nil
		}
		return standard(n, line)
	})
	var log strings.Builder
	var slept []time.Duration
	c := dialFake(t, f, Options{Log: &log, Reconnect: true, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}})
	if _, err := c.Do("attach queen"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do("cat /proc/boot")
	if err != nil || resp.AckLine() != "OK CAT path=/proc/boot data=a|b" {
		t.Fatalf("Do(cat) after loss = %+v, %v", resp, err)
	}
	f.mu.Lock()
	got := append([]string(nil), f.got...)
	f.mu.Unlock()
	want := []string{"#1", "AUTH changeme", "attach queen", "cat /proc/boot", "#2", "AUTH changeme", "attach queen", "cat /proc/boot"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{200 * time.Millisecond}, slept); diff != "" {
		t.Errorf("back-off (-want +got):\n%s", diff)
	}
	for _, s := range []string{
		"[cohsh][tcp] connected to fake:31337 (connects=1)",
		"[cohsh][tcp] connection lost: ",
		"[cohsh][tcp] reconnect attempt #1 in 200ms",
		"[cohsh][tcp] connected to fake:31337 (connects=2)",
		"[cohsh][tcp] remote NineDoor ready as role queen",
	} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log missing %q; log:\n%s", s, log.String())
		}
	}
}

func TestReconnectGivesUp(t *testing.T) {
	f := newFake(t, func(n int, line string) []string {
		if line == "ping" {
			return nil // every connection dies on ping
		}
		return standard(n, line)
	})
	var slept []time.Duration
	c := dialFake(t, f, Options{Reconnect: true, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}})
	_, err := c.Do("ping")
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("Do(ping) = %v; want ConnError", err)
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if diff := cmp.Diff(want, slept); diff != "" {
		t.Errorf("back-off (-want +got):\n%s", diff)
	}
}

func TestScriptModePropagates(t *testing.T) {
	f := newFake(t, func(n int, line string) []string {
		if line == "ping" {
			return nil
		}
		return standard(n, line)
	})
	c := dialFake(t, f, Options{})
	_, err := c.Do("ping")
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("Do(ping) = %v; want ConnError", err)
	}
	if n := c.Connects(); n != 1 {
		t.Errorf("Connects() = %d; want 1 (no reconnect in script mode)", n)
	}
}

func TestQuitThenFreshConnection(t *testing.T) {
	f := newFake(t, standard)
	c := dialFake(t, f, Options{})
	got, err := c.Transcript("attach queen", "quit", "ping")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"OK ATTACH role=queen", "OK QUIT", "PONG", "OK PING reply=pong"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Transcript (-want +got):\n%s", diff)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	wantSeen := []string{"#1", "AUTH changeme", "attach queen", "quit", "#2", "AUTH changeme", "ping"}
	if diff := cmp.Diff(wantSeen, f.got); diff != "" {
		t.Errorf("server saw (-want +got):\n%s (attach must not be replayed after quit)", diff)
	}
}

func TestReadTimeout(t *testing.T) {
	f := newFake(t, standard)
	c := dialFake(t, f, Options{Timeout: 50 * time.Millisecond})
	_, err := c.Do("silent")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Do(silent) = %v; want timeout", err)
	}
}

func TestRetryDelay(t *testing.T) {
	r := ManifestRetry()
	rows := []struct {
		attempt int
		want    time.Duration
	}{
		{1, 200 * time.Millisecond},
		{2, 400 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, 1600 * time.Millisecond},
		{5, 2000 * time.Millisecond},
		{9, 2000 * time.Millisecond},
	}
	for _, row := range rows {
		t.Run(fmt.Sprint(row.attempt), func(t *testing.T) {
			if got := r.Delay(row.attempt); got != row.want {
				t.Errorf("Delay(%d) = %v; want %v", row.attempt, got, row.want)
			}
		})
	}
	if r.MaxAttempts != 3 {
		t.Errorf("ManifestRetry().MaxAttempts = %d; want 3", r.MaxAttempts)
	}
}

// serialHive answers newline commands with a prompt, like the serial root
// console.
func serialHive(conn net.Conn) {
	defer conn.Close()
	io.WriteString(conn, SerialPrompt)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		out := standard(0, strings.TrimSpace(line))
		io.WriteString(conn, strings.Join(out, "\r\n")+"\n"+SerialPrompt)
	}
}

func TestLineConn(t *testing.T) {
	// A kernel socket pair: like a UART, it buffers the prompt the server
	// writes before the client reads (net.Pipe would deadlock).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	defer l.Close()
	go func() {
		srv, err := l.Accept()
		if err == nil {
			serialHive(srv)
		}
	}()
	cli, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := NewLineConn(cli)
	defer c.Close()
	got, err := c.Transcript("ping", "cat /proc/boot", "quit", "help")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PONG", "OK PING reply=pong", "OK CAT path=/proc/boot data=a|b", "a", "b", "END", "OK QUIT", "help", "ping", "OK HELP"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("serial Transcript (-want +got):\n%s", diff)
	}
}

// TestExchangeConn: an in-process console's lines come back as a TCP
// console's would — payload before and after the ACK, END, lines that
// look like a prompt kept — and an exchange error is a ConnError.
func TestExchangeConn(t *testing.T) {
	answers := map[string][]string{
		"ping":    {console.PingReply, "OK PING reply=pong"},
		"ls /":    {"OK LS path=/ entries=1", "cohesix> not-a-prompt", console.End},
		"cat /x":  {"ERR CAT reason=policy detail=invalid-path path=/x error=invalid path"},
		"cat /ok": {"OK CAT path=/ok data=a"}, // no END: the console broke mid-answer
	}
	c := NewExchangeConn(func(line string) ([]string, error) {
		if line == "down" {
			return nil, errors.New("gateway unreachable")
		}
		return answers[line], nil
	})
	r, err := c.Do("ls /")
	if err != nil || !r.Ack.OK || !cmp.Equal(r.Lines, []string{"cohesix> not-a-prompt"}) {
		t.Fatalf("ls: %+v %v", r, err)
	}
	if r, err := c.Do("ping"); err != nil || r.AckLine() != "OK PING reply=pong" || !cmp.Equal(r.Lines, []string{console.PingReply}) {
		t.Fatalf("ping: %+v %v", r, err)
	}
	if r, err := c.Do("cat /x"); err != nil || r.Ack.OK {
		t.Fatalf("cat /x: %+v %v", r, err)
	}
	var ce *ConnError
	if _, err := c.Do("cat /ok"); !errors.As(err, &ce) {
		t.Fatalf("answer without END: %v", err)
	}
	if _, err := c.Do("down"); !errors.As(err, &ce) {
		t.Fatalf("exchange error: %v", err)
	}
	// A failed exchange does not end the session.
	if r, err := c.Do("ping"); err != nil || !r.Ack.OK {
		t.Fatalf("ping after a failed exchange: %+v %v", r, err)
	}
}
