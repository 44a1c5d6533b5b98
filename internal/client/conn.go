package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
)

// Response is what the server sent for one command.
type Response struct {
	// Ack is the command's ACK line; zero if none arrived (HasAck false).
	Ack    console.Ack
	HasAck bool
	// Lines are the payload lines in order: those before the ACK (help
	// text, PONG, info lines) and, for streams, those after it up to END.
	Lines []string
	// Raw is every line in the order received, ACK and END included.
	Raw []string
}

// AckLine returns the ACK line as received, or "" if none arrived.
func (r Response) AckLine() string {
	for _, l := range r.Raw {
		if _, ok := console.ParseAck(l); ok {
			return l
		}
	}
	return ""
}

// Retry is the reconnect back-off policy.
type Retry struct {
	BackoffMs   int // first delay
	CeilingMs   int // largest delay
	MaxAttempts int // reconnect attempts per operation
}

// ManifestRetry returns client_policies.retry from the manifest.
func ManifestRetry() Retry {
	return Retry{
		BackoffMs:   generated.ClientPoliciesRetryBackoffMs,
		CeilingMs:   generated.ClientPoliciesRetryCeilingMs,
		MaxAttempts: generated.ClientPoliciesRetryMaxAttempts,
	}
}

// Delay returns the wait before reconnect attempt n (1-based): BackoffMs
// doubled n-1 times, capped at CeilingMs.
func (r Retry) Delay(n int) time.Duration {
	d := r.BackoffMs
	for i := 1; i < n && d < r.CeilingMs; i++ {
		d *= 2
	}
	return time.Duration(min(d, r.CeilingMs)) * time.Millisecond
}

// Options adjust a TCP console client. The zero value dials TCP, uses the
// manifest's timeout and retry policy, logs nothing and does not reconnect.
type Options struct {
	// Log receives "[cohsh][tcp] ..." diagnostics; nil discards them.
	Log io.Writer
	// Reconnect re-establishes a lost connection (interactive use). Leave
	// it false in script mode so errors propagate.
	Reconnect bool
	// Timeout bounds each read; 0 means client_policies.retry.timeout_ms.
	Timeout time.Duration
	// Retry is the back-off policy; zero means [ManifestRetry].
	Retry Retry
	// Dial opens the byte stream; nil dials TCP to the address.
	Dial func(ctx context.Context) (net.Conn, error)
	// Sleep waits between reconnect attempts; nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ErrClosed is returned by a Conn used after Close.
var ErrClosed = errors.New("console connection closed")

// ConnError means the console could not be reached, or the connection
// broke before a complete response arrived.
type ConnError struct {
	Op  string // "dial", "send", "recv"
	Err error
}

func (e *ConnError) Error() string { return "console " + e.Op + ": " + e.Err.Error() }
func (e *ConnError) Unwrap() error { return e.Err }

// AuthError means the server refused the AUTH hello.
type AuthError struct{ Line string }

func (e *AuthError) Error() string { return "console auth refused: " + e.Line }

// Conn is a console session. Its methods are safe for concurrent use; each
// command holds the connection until its response is complete.
type Conn struct {
	mu       sync.Mutex
	io       lineIO // nil while disconnected
	framed   bool   // TCP framing + AUTH; false for a serial line
	addr     string
	token    string
	opts     Options
	lim      console.Limits
	connects int
	attach   string // last attach line that succeeded, replayed on reconnect
	closed   bool
	lastUsed time.Time
	timeout  time.Duration
	retry    Retry
}

// Dial connects to the TCP console at addr and authenticates with token.
func Dial(ctx context.Context, addr, token string) (*Conn, error) {
	return DialOptions(ctx, addr, token, Options{})
}

// DialOptions is [Dial] with options.
func DialOptions(ctx context.Context, addr, token string, o Options) (*Conn, error) {
	c := &Conn{framed: true, addr: addr, token: token, opts: o, lim: console.ManifestLimits()}
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connectLocked(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// NewLineConn returns a client for a newline console such as the root
// task's serial line: no AUTH, one line per command, the "cohesix> " prompt
// stripped from what is read. It never reconnects. Reads use the manifest
// timeout when rw has SetReadDeadline.
func NewLineConn(rw io.ReadWriter) *Conn {
	c := &Conn{io: newSerialIO(rw), lim: console.ManifestLimits()}
	c.init()
	return c
}

// NewExchangeConn returns a client whose console is a function that
// answers one command line with the lines a console would send for it
// (ACK, payload, END), such as cohsh's REST transport over hive-gateway.
// An exchange error is a broken connection (*ConnError). It never
// reconnects.
func NewExchangeConn(exchange func(line string) ([]string, error)) *Conn {
	c := &Conn{io: &exchangeIO{exchange: exchange}, lim: console.ManifestLimits()}
	c.init()
	return c
}

func (c *Conn) init() {
	c.timeout = c.opts.Timeout
	if c.timeout == 0 {
		c.timeout = time.Duration(generated.ClientPoliciesRetryTimeoutMs) * time.Millisecond
	}
	c.retry = c.opts.Retry
	if c.retry == (Retry{}) {
		c.retry = ManifestRetry()
	}
	c.lastUsed = time.Now()
}

func (c *Conn) logf(format string, args ...any) {
	if c.opts.Log != nil {
		fmt.Fprintf(c.opts.Log, "[cohsh][tcp] "+format+"\n", args...)
	}
}

// connectLocked dials, authenticates and replays the cached attach.
func (c *Conn) connectLocked(ctx context.Context) error {
	dial := c.opts.Dial
	if dial == nil {
		dial = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			ctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			return d.DialContext(ctx, "tcp", c.addr)
		}
	}
	nc, err := dial(ctx)
	if err != nil {
		return &ConnError{Op: "dial", Err: err}
	}
	fio := newFramedIO(nc, c.lim)
	if err := fio.send(console.AuthLine(c.token)); err != nil {
		nc.Close()
		return &ConnError{Op: "send", Err: err}
	}
	line, err := fio.recv(c.timeout)
	if err != nil {
		nc.Close()
		return &ConnError{Op: "recv", Err: fmt.Errorf("auth reply: %w", err)}
	}
	if a, ok := console.ParseAck(line); !ok || !a.OK || a.Label != console.LabelAuth {
		nc.Close()
		return &AuthError{Line: line}
	}
	c.io = fio
	c.connects++
	c.logf("connected to %s (connects=%d)", c.addr, c.connects)
	if c.attach != "" {
		resp, err := c.exchangeLocked(c.attach, nil)
		if err != nil {
			c.dropLocked()
			return err
		}
		if !resp.Ack.OK {
			c.attach = ""
			return &ConnError{Op: "attach", Err: errors.New("replayed attach refused: " + resp.AckLine())}
		}
		if role, ok := resp.Ack.Field("role"); ok {
			c.logf("remote NineDoor ready as role %s", role)
		}
	}
	return nil
}

func (c *Conn) dropLocked() {
	if x, ok := c.io.(*exchangeIO); ok {
		// Nothing to re-establish: each command is a fresh exchange, so
		// one failure (a gateway restarting) does not end the session.
		x.queue = nil
		return
	}
	if c.io != nil {
		c.io.close()
		c.io = nil
	}
}

// Close ends the connection without sending anything.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.io == nil {
		return nil
	}
	err := c.io.close()
	c.io = nil
	return err
}

// Connects returns how many times the connection was established.
func (c *Conn) Connects() int { c.mu.Lock(); defer c.mu.Unlock(); return c.connects }

// Do sends one command line and returns the complete response.
func (c *Conn) Do(line string) (Response, error) { return c.DoContext(context.Background(), line) }

// DoContext is [Conn.Do] with a context bounding dials and back-off waits.
func (c *Conn) DoContext(ctx context.Context, line string) (Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doLocked(ctx, line, nil)
}

// Tail sends "tail <path>" and calls fn for each streamed line as it
// arrives. Once fn returns false it is not called again, but the stream is
// still read to its END so the connection stays in step.
func (c *Conn) Tail(path string, fn func(line string) bool) (Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doLocked(context.Background(), string(console.Tail)+" "+path, fn)
}

// Stream is [Conn.Do] that also calls fn for each payload line after the
// ACK of a streaming verb (log, tail, cat, ls) as it arrives.
func (c *Conn) Stream(ctx context.Context, line string, fn func(line string) bool) (Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doLocked(ctx, line, fn)
}

// Transcript runs each command in turn and returns exactly the lines the
// server sent, in order. It stops at the first transport error.
func (c *Conn) Transcript(lines ...string) ([]string, error) {
	var out []string
	for _, l := range lines {
		r, err := c.Do(l)
		out = append(out, r.Raw...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Keepalive sends a silent ping if the connection has been idle for at
// least idle; the response is discarded. It reports whether it pinged.
func (c *Conn) Keepalive(idle time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.io == nil || time.Since(c.lastUsed) < idle {
		return false, nil
	}
	_, err := c.doLocked(context.Background(), string(console.Ping), nil)
	return true, err
}

func (c *Conn) doLocked(ctx context.Context, line string, each func(string) bool) (Response, error) {
	if c.closed {
		return Response{}, ErrClosed
	}
	if strings.ContainsAny(line, "\r\n") {
		return Response{}, errors.New("console command must be one line")
	}
	c.lastUsed = time.Now()
	if c.io == nil {
		if !c.framed {
			return Response{}, ErrClosed
		}
		// The server closed after quit (or an earlier failure): a fresh
		// connection is plain setup, not a reconnect.
		if err := c.connectLocked(ctx); err != nil {
			return Response{}, err
		}
	}
	resp, err := c.exchangeLocked(line, each)
	var ce *ConnError
	for attempt := 1; err != nil && errors.As(err, &ce) && c.framed && c.opts.Reconnect; attempt++ {
		if attempt == 1 {
			c.logf("connection lost: %v", err)
		}
		c.dropLocked()
		if attempt > c.retry.MaxAttempts {
			break
		}
		d := c.retry.Delay(attempt)
		c.logf("reconnect attempt #%d in %dms", attempt, d.Milliseconds())
		if serr := c.sleep(ctx, d); serr != nil {
			return resp, serr
		}
		if cerr := c.connectLocked(ctx); cerr != nil {
			err = cerr
			continue
		}
		resp, err = c.exchangeLocked(line, each)
	}
	if err != nil {
		var ce *ConnError
		if errors.As(err, &ce) {
			c.dropLocked()
		}
		return resp, err
	}
	c.afterLocked(line, resp)
	return resp, nil
}

func (c *Conn) sleep(ctx context.Context, d time.Duration) error {
	if c.opts.Sleep != nil {
		return c.opts.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d, or until ctx ends and returns its error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// afterLocked tracks session state from a completed response.
func (c *Conn) afterLocked(line string, resp Response) {
	if !resp.HasAck || !resp.Ack.OK {
		return
	}
	switch resp.Ack.Label {
	case console.Attach.Label():
		c.attach = strings.TrimSpace(line)
	case console.Quit.Label():
		c.attach = ""
		if c.framed {
			// The TCP server disconnects after OK QUIT.
			c.dropLocked()
		}
	}
}

// exchangeLocked sends line and reads its response. Lines before the ACK
// are payload; after an OK ACK of a streaming verb, lines up to END are.
func (c *Conn) exchangeLocked(line string, each func(string) bool) (Response, error) {
	var verb console.Verb
	if cmd, err := console.Parse(line, c.lim); err == nil {
		verb = cmd.Verb
	}
	var resp Response
	if err := c.io.send(line); err != nil {
		return resp, &ConnError{Op: "send", Err: err}
	}
	streaming := false
	for {
		l, err := c.io.recv(c.timeout)
		if err != nil {
			return resp, &ConnError{Op: "recv", Err: err}
		}
		resp.Raw = append(resp.Raw, l)
		if streaming {
			if l == console.End {
				return resp, nil
			}
			resp.Lines = append(resp.Lines, l)
			if each != nil && !each(l) {
				each = nil
			}
			continue
		}
		a, ok := console.ParseAck(l)
		if !ok {
			resp.Lines = append(resp.Lines, l)
			continue
		}
		resp.Ack, resp.HasAck = a, true
		if !(a.OK && verb.Streaming() && a.Label == verb.Label()) {
			return resp, nil
		}
		streaming = true
	}
}

// ManifestSHA256 reads the manifest hash the hive reports in /proc/boot
// (the `manifest.sha256=` line). It needs an attached session.
func (c *Conn) ManifestSHA256(ctx context.Context) (string, error) {
	r, err := c.DoContext(ctx, "cat /proc/boot")
	if err != nil {
		return "", err
	}
	if !r.HasAck || !r.Ack.OK {
		return "", fmt.Errorf("read /proc/boot: %s", r.AckLine())
	}
	for _, l := range r.Lines {
		if v, ok := strings.CutPrefix(l, "manifest.sha256="); ok {
			return v, nil
		}
	}
	return "", errors.New("/proc/boot has no manifest.sha256 line")
}
