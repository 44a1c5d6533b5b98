// Package hive is the root task's core, independent of the platform: it
// builds the queen, the namespace and the Secure9P server from the
// generated manifest tables and serves the console on any byte stream.
// roottask/ wires it to a platform (hosted sockets and stdio, or seL4).
package hive

import (
	"bufio"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/netguard"
	"github.com/cohesix/cohesix/internal/ninedoor"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

//go:embed selftest/*.coh
var selftests embed.FS

// Clock is the hive's time source.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options adjust a hive; the zero value is the manifest's hive.
type Options struct {
	Clock Clock
	// Queen overrides the queen configuration (tests shorten heartbeats).
	Queen *queen.Config
	// Ticks drives heartbeats; nil means a ticker at the manifest interval.
	Ticks <-chan time.Time
	// StateDir, if set, holds the governance spool: audit journal,
	// decisions, approvals and lifecycle survive a restart (persist.go).
	StateDir string
	// InboundQueueDepth overrides console.inbound_queue_depth, the most
	// requests one TCP console connection may have waiting to run; 0
	// means the manifest's.
	InboundQueueDepth int
}

// Hive is one running root task.
type Hive struct {
	q            *queen.Queen
	ns           *ninedoor.Namespace
	door         *gate.Door // the console's way into ns (console.go)
	lim          console.Limits
	clock        Clock
	ticketLimits ticket.Limits
	cancel       context.CancelFunc
	done         chan struct{}
	stopTicker   func()
	closeStore   func() error
	inboundDepth int // console requests waiting to run, per connection
}

// BootLines is the content of /proc/boot.
func BootLines() []string {
	return []string{
		"Cohesix boot: root-task online",
		"manifest.schema=" + generated.RootTaskSchema,
		"manifest.profile=" + generated.ProfileName,
		"manifest.sha256=" + generated.ManifestSHA256,
		fmt.Sprintf("telemetry.ring_bytes_per_worker=%d", generated.TelemetryRingBytesPerWorker),
		"telemetry.frame_schema=" + generated.TelemetryFrameSchema,
		fmt.Sprintf("event_pump.tick_ms=%d", generated.EventPumpTickMs),
	}
}

// New starts a hive: the queen loop runs until Close.
func New(o Options) (*Hive, error) {
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	cfg := queen.Default()
	if o.Queen != nil {
		cfg = *o.Queen
	}
	q := queen.New(cfg, o.Clock, generated.QueenInboxDepth)
	closeStore := func() error { return nil }
	if o.StateDir != "" {
		sp, err := openStore(q, o.StateDir)
		if err != nil {
			return nil, err
		}
		closeStore = sp.Close
	}
	var boot []byte
	for _, l := range BootLines() {
		boot = append(boot, l+"\n"...)
	}
	var tests []ninedoor.Entry
	for _, name := range []string{"selftest_quick.coh", "selftest_full.coh", "selftest_negative.coh"} {
		b, err := selftests.ReadFile("selftest/" + name)
		if err != nil {
			return nil, fmt.Errorf("load self-test %s: %w", name, err)
		}
		tests = append(tests, ninedoor.Entry{Name: name, Node: ninedoor.Content{ReadOnly: ninedoor.ReadOnly{Path: "/proc/tests/" + name}, Render: func() []byte { return b }}})
	}
	h := &Hive{
		q:            q,
		ns:           ninedoor.New(q, ninedoor.DefaultConfig(), boot, tests),
		lim:          console.ManifestLimits(),
		clock:        o.Clock,
		ticketLimits: ticket.DefaultLimits(),
		done:         make(chan struct{}),
		stopTicker:   func() {},
		closeStore:   closeStore,
		inboundDepth: cmp.Or(o.InboundQueueDepth, generated.ConsoleInboundQueueDepth),
	}
	h.door = gate.New(h.ns, gate.Config{Tickets: generated.Tickets, Limits: h.ticketLimits, Now: o.Clock.Now})
	h.ns.SetClock(o.Clock.Now)
	ticks := o.Ticks
	if ticks == nil && cfg.HeartbeatIntervalMs > 0 {
		t := time.NewTicker(time.Duration(cfg.HeartbeatIntervalMs) * time.Millisecond)
		ticks, h.stopTicker = t.C, t.Stop
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		q.Run(ctx, ticks)
	}()
	// The boot banner is the first kmesg (spec namespace §11).
	if _, err := q.Do(ctx, queen.TraceEmit{Cat: "kmesg", Level: "info", Lines: BootLines()}); err != nil {
		h.Close()
		return nil, err
	}
	if o.StateDir != "" && cfg.Ingest.Enabled() {
		if err := h.restoreIngest(o.StateDir, cfg.Ingest); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// Queen returns the hive's authority.
func (h *Hive) Queen() *queen.Queen { return h.q }

// Namespace returns the hive's namespace.
func (h *Hive) Namespace() *ninedoor.Namespace { return h.ns }

// Close stops the queen.
func (h *Hive) Close() error {
	h.cancel()
	h.stopTicker()
	<-h.done
	return h.closeStore()
}

// secret returns the manifest secret for role ("" if none is configured).
func (h *Hive) secret(role ticket.Role) string {
	s, _ := ticket.ManifestSecret(role)
	return s
}

// ServeConsoles accepts TCP console clients on l and serves each in its own
// goroutine through the hive's accept loop (netguard: back-off on
// temporary accept errors, the per-peer connection cap, /proc/net/console)
// until l is closed; it returns nil then, or the permanent accept error
// that stopped it.
func (h *Hive) ServeConsoles(l net.Listener) error {
	cfg := netguard.DefaultConfig("console")
	cfg.Stats = h.ns.ConsoleNet()
	cfg.Audit = func(line string) { h.q.Audit(line) }
	return netguard.Serve(context.Background(), l, cfg, h.ServeConsole)
}

// ServeConsole serves the framed TCP console on conn (spec console §1-§2)
// until the client quits or the connection fails, then closes conn.
func (h *Hive) ServeConsole(conn net.Conn) {
	defer conn.Close()
	fr := console.NewFrameReader(conn, h.lim)
	w := bufio.NewWriter(conn)
	send := func(lines ...string) error {
		var buf []byte
		for _, l := range lines {
			buf = console.AppendFrame(buf, l)
		}
		// A peer that takes no replies must not hold the session forever.
		_ = conn.SetWriteDeadline(h.clock.Now().Add(time.Duration(generated.ConsoleIdleTimeoutMs) * time.Millisecond))
		if _, err := w.Write(buf); err != nil {
			return err
		}
		return w.Flush()
	}
	peer := queen.PeerOf("tcp", conn.RemoteAddr())
	_ = conn.SetReadDeadline(h.clock.Now().Add(time.Duration(generated.ConsoleAuthTimeoutMs) * time.Millisecond))
	hello, err := fr.Next(false)
	if isTimeout(err) {
		h.ns.ConsoleNet().HandshakeTimeouts.Add(1)
	}
	if err != nil && !errors.Is(err, console.ErrInvalidLength) && !isTimeout(err) {
		return
	}
	if !h.authenticate(peer, hello, err, send) {
		return
	}
	cs := &consoleSession{h: h, peer: peer, closeConn: func() { conn.Close() }}
	closeReason := "eof"
	defer func() {
		cs.end(closeReason)
		h.q.Audit("audit tcp.conn.close reason=" + closeReason + peer.Fields())
	}()
	in := newInboundQueue(h.ns.Ingest(), h.clock, h.inboundDepth, h.inboundDepth) // inbound.go
	defer in.close()
	go in.read(conn, fr, time.Duration(generated.ConsoleIdleTimeoutMs)*time.Millisecond)
	for {
		it := in.pop()
		line, err := it.line, it.err
		switch {
		case it.busy:
			if send(cs.busyReply(line)) != nil {
				closeReason = "error"
				return
			}
			continue
		case errors.Is(err, console.ErrInvalidLength):
			a := console.FrameRefusal
			cs.refused(a, "console error: frame invalid-length")
			if send(a.Render(h.lim)) != nil {
				closeReason = "error"
				return
			}
			continue
		case isTimeout(err):
			h.ns.ConsoleNet().IdleTimeouts.Add(1)
			h.q.Audit("[cohsh-net] session closed reason=" + console.AuthInactivityTimeout + peer.Fields())
			closeReason = console.AuthInactivityTimeout
			return
		case errors.Is(err, io.EOF):
			return
		case err != nil:
			closeReason = "error"
			return
		}
		out, quit := cs.dispatch(line)
		if send(out...) != nil {
			closeReason = "error"
			return
		}
		if quit {
			closeReason = cmp.Or(cs.endReason, "quit")
			return
		}
	}
}

// authLabel starts the audit lines of a console hello.
const authLabel = "[cohsh-net][auth]"

// authenticate answers the hello (spec console §2) read with readErr
// from peer. The queen counts failures per peer (DECISIONS P7): a peer it
// holds back is refused without its token being checked, and a verdict
// reached while another of its attempts set a block is not revealed. It
// reports whether the session may go on.
func (h *Hive) authenticate(peer queen.Peer, hello string, readErr error, send func(...string) error) bool {
	ctx := context.Background()
	gate := queen.PeerGate{Peer: peer, Label: authLabel}
	if _, err := h.q.Do(ctx, gate); err != nil {
		h.authRefused(err, send)
		return false
	}
	reason := ""
	switch {
	case errors.Is(readErr, console.ErrInvalidLength):
		reason = console.AuthInvalidLength
	case isTimeout(readErr):
		reason = console.AuthTimeout
	default:
		reason = console.CheckAuth(hello, generated.ConsoleAuthToken)
	}
	attempt := queen.PeerAttempt{Peer: peer, Label: authLabel, Failed: reason != ""}
	if reason != "" {
		attempt.Lines = []string{fmt.Sprintf("%s reject reason=%s%s", authLabel, reason, peer.Fields())}
	}
	if _, err := h.q.Do(ctx, attempt); err != nil {
		h.authRefused(err, send)
		return false
	}
	switch reason {
	case "":
		return send(console.AuthOK.Render(h.lim)) == nil
	case console.AuthTimeout: // the client said nothing; nothing to answer
	default:
		_ = send(console.AuthRefusal(reason).Render(h.lim))
	}
	return false
}

// authRefused answers a hello the queen refused: held back, or busy.
func (h *Hive) authRefused(err error, send func(...string) error) {
	var r *queen.Refusal
	if !errors.As(err, &r) {
		_ = send(console.AuthRefusal(console.ReasonBusy).Render(h.lim))
		return
	}
	_ = send(console.AuthBlocked(r.Detail, r.DelayMs()).Render(h.lim))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// SerialPrompt is printed before each serial console line.
const SerialPrompt = "cohesix> "

// ServeSerial serves the newline console on r/w (the hosted process's
// stdio, or a UART): no AUTH, the same dispatcher and ACK lines as TCP.
// quit detaches but the console keeps running (spec console §10) until r
// ends.
func (h *Hive) ServeSerial(r io.Reader, w io.Writer, prompt bool) error {
	var mu sync.Mutex
	out := bufio.NewWriter(w)
	write := func(lines ...string) error {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range lines {
			out.WriteString(l)
			out.WriteByte('\n')
		}
		if prompt {
			out.WriteString(SerialPrompt)
		}
		return out.Flush()
	}
	cs := &consoleSession{h: h, peer: queen.Peer{Transport: "serial"}}
	lb := console.NewLineBuffer(h.lim)
	in := bufio.NewReader(r)
	if err := write(); err != nil {
		return err
	}
	for {
		b, err := in.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				cs.end("eof")
				return nil
			}
			cs.end("error")
			return err
		}
		line, done, perr := lb.Feed(b)
		if perr != nil {
			var pe *console.ParseError
			errors.As(perr, &pe)
			cs.refused(pe.Ack(), "console error: "+pe.Msg)
			if err := write(pe.Ack().Render(h.lim)); err != nil {
				return err
			}
			continue
		}
		if !done {
			continue
		}
		lines, _ := cs.dispatch(line)
		if err := write(lines...); err != nil {
			return err
		}
	}
}
