// Package consoleserver is the console transport: the framed TCP console
// (AUTH, then one request per frame through a bounded queue) and the
// newline serial console, both driving one Session per conversation whose
// verbs reach the namespace only through the door (internal/gate). The
// grammar and the wire words are internal/console's.
package consoleserver

import (
	"bufio"
	"cmp"
	"context"
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
	"github.com/cohesix/cohesix/internal/queen"
)

// Clock is the console's time source (deadlines, queue latency).
type Clock interface{ Now() time.Time }

// Config is what a console server is built from.
type Config struct {
	Queen *queen.Queen
	Door  *gate.Door
	Clock Clock
	// Limits are the console grammar's manifest limits.
	Limits console.Limits
	// InboundDepth is the most requests one TCP connection may have
	// waiting to run (console.inbound_queue_depth).
	InboundDepth int
}

// Server serves console conversations over the door.
type Server struct {
	q            *queen.Queen
	door         *gate.Door
	ns           *gate.Namespace // counters: /proc/net/console, /proc/ingest, /proc/root
	lim          console.Limits
	clock        Clock
	inboundDepth int
}

// New returns a console server.
func New(cfg Config) *Server {
	return &Server{q: cfg.Queen, door: cfg.Door, ns: cfg.Door.Namespace(), lim: cfg.Limits, clock: cfg.Clock, inboundDepth: cfg.InboundDepth}
}

// NewSession starts a console conversation from peer, not yet attached:
// the serial line, a TCP connection after AUTH, or a test driving
// Dispatch directly. closeConn ends the connection when the authority ends
// the session between verbs; nil on the serial line.
func (srv *Server) NewSession(peer queen.Peer, closeConn func()) *Session {
	return &Session{srv: srv, peer: peer, closeConn: closeConn}
}

// ServeConsoles accepts TCP console clients on l and serves each in its own
// goroutine through the hive's accept loop (netguard: back-off on
// temporary accept errors, the per-peer connection cap, /proc/net/console)
// until l is closed; it returns nil then, or the permanent accept error
// that stopped it.
func (srv *Server) ServeConsoles(l net.Listener) error {
	cfg := netguard.DefaultConfig("console")
	cfg.Stats = srv.ns.ConsoleNet()
	cfg.Audit = func(line string) { srv.q.Audit(line) }
	return netguard.Serve(context.Background(), l, cfg, srv.ServeConsole)
}

// ServeConsole serves the framed TCP console on conn (spec console §1-§2)
// until the client quits or the connection fails, then closes conn.
func (srv *Server) ServeConsole(conn net.Conn) {
	defer conn.Close()
	fr := console.NewFrameReader(conn, srv.lim)
	w := bufio.NewWriter(conn)
	send := func(lines ...string) error {
		var buf []byte
		for _, l := range lines {
			buf = console.AppendFrame(buf, l)
		}
		// A peer that takes no replies must not hold the session forever.
		_ = conn.SetWriteDeadline(srv.clock.Now().Add(time.Duration(generated.ConsoleIdleTimeoutMs) * time.Millisecond))
		if _, err := w.Write(buf); err != nil {
			return err
		}
		return w.Flush()
	}
	peer := queen.PeerOf("tcp", conn.RemoteAddr())
	_ = conn.SetReadDeadline(srv.clock.Now().Add(time.Duration(generated.ConsoleAuthTimeoutMs) * time.Millisecond))
	hello, err := fr.Next(false)
	if isTimeout(err) {
		srv.ns.ConsoleNet().HandshakeTimeouts.Add(1)
	}
	if err != nil && !errors.Is(err, console.ErrInvalidLength) && !isTimeout(err) {
		return
	}
	if !srv.authenticate(peer, hello, err, send) {
		return
	}
	cs := srv.NewSession(peer, func() { conn.Close() })
	closeReason := "eof"
	defer func() {
		cs.end(closeReason)
		srv.q.Audit("audit tcp.conn.close reason=" + closeReason + peer.Fields())
	}()
	in := newInboundQueue(srv.ns.Ingest(), srv.clock, srv.inboundDepth, srv.inboundDepth) // inbound.go
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
			if send(a.Render(srv.lim)) != nil {
				closeReason = "error"
				return
			}
			continue
		case isTimeout(err):
			srv.ns.ConsoleNet().IdleTimeouts.Add(1)
			srv.q.Audit("[cohsh-net] session closed reason=" + console.AuthInactivityTimeout + peer.Fields())
			closeReason = console.AuthInactivityTimeout
			return
		case errors.Is(err, io.EOF):
			return
		case err != nil:
			closeReason = "error"
			return
		}
		out, quit := cs.Dispatch(line)
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
// from peer, in one queen command (DECISIONS P7): the queen checks the
// peer's block first, so a held-back peer is refused and the verdict on
// its token is not revealed, then counts the outcome. It reports whether
// the session may go on.
func (srv *Server) authenticate(peer queen.Peer, hello string, readErr error, send func(...string) error) bool {
	reason := ""
	switch {
	case errors.Is(readErr, console.ErrInvalidLength):
		reason = console.AuthInvalidLength
	case isTimeout(readErr):
		reason = console.AuthTimeout
	default:
		reason = console.CheckAuth(hello, generated.ConsoleAuthToken)
		if reason == "" && srv.door.NoEntropy() != nil {
			// The token is right, but no secret is accepted on a
			// platform without an entropy source (DECISIONS P73).
			reason = console.AuthNoEntropy
		}
	}
	attempt := queen.PeerAttempt{Peer: peer, Label: authLabel, Failed: reason != ""}
	if reason != "" {
		attempt.Lines = []string{fmt.Sprintf("%s reject reason=%s%s", authLabel, reason, peer.Fields())}
	}
	if _, err := srv.q.Do(context.Background(), attempt); err != nil {
		srv.authRefused(err, send)
		return false
	}
	switch reason {
	case "":
		return send(console.AuthOK.Render(srv.lim)) == nil
	case console.AuthTimeout: // the client said nothing; nothing to answer
	default:
		_ = send(console.AuthRefusal(reason).Render(srv.lim))
	}
	return false
}

// authRefused answers a hello the queen refused: held back, or busy.
func (srv *Server) authRefused(err error, send func(...string) error) {
	var r *queen.Refusal
	if !errors.As(err, &r) {
		_ = send(console.AuthRefusal(console.ReasonBusy).Render(srv.lim))
		return
	}
	_ = send(console.AuthBlocked(r.Detail, r.DelayMs()).Render(srv.lim))
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
func (srv *Server) ServeSerial(r io.Reader, w io.Writer, prompt bool) error {
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
	cs := srv.NewSession(queen.Peer{Transport: "serial"}, nil)
	lb := console.NewLineBuffer(srv.lim)
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
			if err := write(pe.Ack().Render(srv.lim)); err != nil {
				return err
			}
			continue
		}
		if !done {
			continue
		}
		lines, _ := cs.Dispatch(line)
		if err := write(lines...); err != nil {
			return err
		}
	}
}
