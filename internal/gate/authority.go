package gate

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Why the authority ends a session (SessionEnded.Reason).
const (
	EndExpired = "expired" // the ticket's TTL ran out (or the clock went back past the skew)
	EndRevoked = "revoked" // the worker the session speaks for was killed or revoked
)

// SessionEnded is why the authority ended a session before its transport
// did. Transports answer the operation that meets it with the error and
// close the connection. An expired ticket is a permission failure (spec
// secure9p §5 "ticket expired": 9P EPERM, console reason=quota
// detail=expired); a revoked worker's session is closed (spec secure9p §6
// Closed: 9P EBADF per D2, console reason=policy detail=revoked).
type SessionEnded struct {
	Reason string // EndExpired or EndRevoked
	Worker string // the revoked worker; "" for an expiry
	Cause  string // kill, ttl, ticks, ops, gpu-removed; the ticket error for an expiry
}

func (e *SessionEnded) Error() string {
	if e.Reason == EndExpired {
		return "session ended: ticket expired"
	}
	return fmt.Sprintf("session ended: worker %s revoked (%s)", e.Worker, e.Cause)
}

// Unwrap gives the refusal class.
func (e *SessionEnded) Unwrap() error {
	if e.Reason == EndExpired {
		return errs.ErrPermission
	}
	return errs.ErrClosed
}

// AsSessionEnded reports whether err is the end of a session.
func AsSessionEnded(err error) (*SessionEnded, bool) {
	var e *SessionEnded
	ok := errors.As(err, &e)
	return e, ok
}

// Watch says what, besides its transport, ends a session.
type Watch struct {
	// Claims are the session ticket's claims; the zero value (no ticket)
	// never expires.
	Claims ticket.Claims
	// SkewMs is ticket_limits.clock_skew_ms, for Claims.CheckTime.
	SkewMs uint64
	// Worker is the worker the session is bound to: running at attach;
	// "" for none. Once the snapshot shows it killed or revoked, the
	// session's next operation fails. Besides, the kill or revocation of
	// a worker ends every session attached under its identity, bound or
	// not (OnRevoke).
	Worker string
	// Close ends the transport's connection; it must not block. nil (the
	// serial line) leaves the end to the next operation.
	Close func()
}

// guard is a session's watch state, guarded by mu.
type guard struct {
	mu      sync.Mutex
	watched bool
	w       Watch
	ended   *SessionEnded
	timer   *time.Timer // fires at the expiry instant; stopped at close
}

// registry holds the watched sessions by id: what OnRevoke searches.
type registry struct {
	mu sync.Mutex
	m  map[uint64]*Session
}

// Guard puts s under the authority's watch until CloseSession: every
// operation asks Live, a timer ends s at its ticket's expiry instant even
// when idle, and the queen's kill or revocation of the worker ends every
// session attached under that worker's identity. A session with nothing to
// watch (the console queen without a ticket) is not registered.
func (ns *Namespace) Guard(s *Session, w Watch) {
	at, expires := w.Claims.ExpiresAtMs()
	if !expires && w.Worker == "" && !speaksForWorker(s) {
		return
	}
	s.g.mu.Lock()
	s.g.watched, s.g.w = true, w
	if now := ns.nowMs(); expires && at-min(at, now) <= maxTimerMs {
		s.g.timer = time.AfterFunc(time.Duration(at-min(at, now))*time.Millisecond, func() {
			ns.end(s, &SessionEnded{Reason: EndExpired, Cause: ticket.ErrExpired.Error()}, true)
		})
	}
	s.g.mu.Unlock()
	ns.guarded.mu.Lock()
	if ns.guarded.m == nil {
		ns.guarded.m = map[uint64]*Session{}
	}
	ns.guarded.m[s.ID] = s
	ns.guarded.mu.Unlock()
	if w.Worker != "" {
		ns.workerGone(s, w.Worker)
	}
}

// RunningWorker returns subject if it names a running worker of role
// (heartbeat or gpu), else "": the worker an attaching session is bound
// to (Watch.Worker), by the same rule on every transport.
func (ns *Namespace) RunningWorker(role ticket.Role, subject string) string {
	if subject == "" || (role != ticket.RoleWorkerHeartbeat && role != ticket.RoleWorkerGPU) {
		return ""
	}
	if w, ok := ns.q.Snapshot().Worker(subject); ok && w.Running && w.Role == role.String() {
		return subject
	}
	return ""
}

// maxTimerMs is the longest expiry timer; a later expiry is left to Live.
const maxTimerMs = math.MaxInt64 / uint64(time.Millisecond)

func speaksForWorker(s *Session) bool {
	return s.Subject != "" && (s.Role == ticket.RoleWorkerHeartbeat || s.Role == ticket.RoleWorkerGPU)
}

// Live decides whether s may still act: nil, or the *SessionEnded that
// ended it (audited once, when first seen). Transports call it before
// every operation of an attached session; on an error they answer that
// operation with it and close the connection themselves, so the client
// reads why before the end.
func (ns *Namespace) Live(s *Session) error {
	if s == nil {
		return nil
	}
	s.g.mu.Lock()
	watched, w, ended := s.g.watched, s.g.w, s.g.ended
	s.g.mu.Unlock()
	switch {
	case ended != nil:
		return ended
	case !watched:
		return nil
	}
	if err := w.Claims.CheckTime(ns.nowMs(), w.SkewMs); err != nil {
		return ns.end(s, &SessionEnded{Reason: EndExpired, Cause: err.Error()}, false)
	}
	// A worker's kill or revocation ends its sessions through the queen's
	// OnRevoke hook (and Guard's check at registration), not a snapshot
	// lookup on every request.
	return nil
}

// workerGone ends s when its worker is no longer running in the
// snapshot: the one check that covers a revocation published between
// RunningWorker and s's registration, which OnRevoke could not see.
func (ns *Namespace) workerGone(s *Session, worker string) {
	switch wk, ok := ns.q.Snapshot().Worker(worker); {
	case !ok:
		ns.end(s, &SessionEnded{Reason: EndRevoked, Worker: worker, Cause: "kill"}, true)
	case !wk.Running:
		ns.end(s, &SessionEnded{Reason: EndRevoked, Worker: worker, Cause: wk.ExitReason}, true)
	}
}

// end ends s for e, once: the first reason wins and is audited; closeConn
// (the timer and the revocation, which no operation waits on) also closes
// the connection. It returns the reason that won.
func (ns *Namespace) end(s *Session, e *SessionEnded, closeConn bool) *SessionEnded {
	first, won := s.mark(e)
	if won {
		ns.report(s, e, closeConn)
	}
	return first
}

// mark records e as s's end unless it has one; it reports the end that
// holds and whether it is e. It takes no queen round trip, so the queen's
// own goroutine may call it: the next operation sees the end at once.
func (s *Session) mark(e *SessionEnded) (*SessionEnded, bool) {
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	if s.g.ended != nil {
		return s.g.ended, false
	}
	s.g.ended = e
	if s.g.timer != nil {
		s.g.timer.Stop()
	}
	return e, true
}

// report audits the end e of s and, with closeConn, closes its connection.
func (ns *Namespace) report(s *Session, e *SessionEnded, closeConn bool) {
	s.g.mu.Lock()
	closer := s.g.w.Close
	s.g.mu.Unlock()
	line := fmt.Sprintf("session %s transport=%s session=%d role=%s subject=%s ticket=%s%s", e.Reason, s.Peer.Transport, s.ID, s.Role, subjectOrNone(s.Subject), s.Ticket, remoteField(s.Peer))
	if e.Reason == EndRevoked {
		line = fmt.Sprintf("session revoked worker=%s reason=%s transport=%s session=%d role=%s ticket=%s%s", e.Worker, e.Cause, s.Peer.Transport, s.ID, s.Role, s.Ticket, remoteField(s.Peer))
	}
	ns.q.Audit(line)
	if closeConn && closer != nil {
		closer()
	}
}

// unguard takes s off the watch (its timer stopped, its closer dropped)
// and reports whether the authority had ended it.
func (ns *Namespace) unguard(s *Session) bool {
	ns.guarded.mu.Lock()
	delete(ns.guarded.m, s.ID)
	ns.guarded.mu.Unlock()
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	if s.g.timer != nil {
		s.g.timer.Stop()
		s.g.timer = nil
	}
	s.g.w.Close = nil
	return s.g.ended != nil
}

// workerRevoked is the queen's OnRevoke listener: every session attached
// under the worker's identity ends now, not at its next operation. It runs
// on the authority's goroutine, so the ending (which audits through the
// queen) happens on a goroutine of its own.
func (ns *Namespace) workerRevoked(r queen.Revocation) {
	var hit []*Session
	ns.guarded.mu.Lock()
	for _, s := range ns.guarded.m {
		if speaksForWorker(s) && s.Subject == r.Worker {
			hit = append(hit, s)
		}
	}
	ns.guarded.mu.Unlock()
	// Marked here, on the queen's goroutine, before the kill is answered:
	// the session's next operation is refused. The audit line (a queen
	// submit) and the close follow on another goroutine.
	type ended struct {
		s *Session
		e *SessionEnded
	}
	var won []ended
	for _, s := range hit {
		e := &SessionEnded{Reason: EndRevoked, Worker: r.Worker, Cause: r.Reason}
		if _, ok := s.mark(e); ok {
			won = append(won, ended{s, e})
		}
	}
	if len(won) == 0 {
		return
	}
	go func() {
		for _, w := range won {
			ns.report(w.s, w.e, true)
		}
	}()
}

// remoteField is " remote=<addr>" (and " via=<addr>" for a forwarded
// client) for a networked peer, "" otherwise.
func remoteField(p queen.Peer) string { return p.RemoteFields() }
