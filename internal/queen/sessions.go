package queen

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cohesix/cohesix/internal/errs"
)

// Session states (spec namespace §2, roadmap 21e).
const (
	SessionSetup    = "SETUP"
	SessionActive   = "ACTIVE"
	SessionDraining = "DRAINING"
	SessionClosed   = "CLOSED"
)

// Cut reasons in priority order (roadmap 21e).
const (
	CutNone       = "none"
	CutOffline    = "lifecycle_offline"
	CutRevoked    = "session_revoked"
	CutPolicy     = "policy_denied"
	CutNetwork    = "network_unreachable"
	cutAuditLabel = "worker command denied: root unreachable"
)

// SessionInfo is one client session as /proc/9p/session shows it.
type SessionInfo struct {
	ID        uint64
	Role      string
	Subject   string
	Owner     string // role, or role:subject for workers
	Transport string // tcp, serial, 9p
	State     string
	SinceMs   uint64
}

// RootState is the queen's reachability as /proc/root shows it.
type RootState struct {
	Reachable  bool
	LastSeenMs uint64
	CutReason  string
}

// SessionOpen registers a session that has just been authenticated; it is
// SETUP until SessionActive. A queen session makes the root reachable.
type SessionOpen struct {
	ID        uint64
	Role      string
	Subject   string
	Transport string
}

// SessionClose ends a session: reason is quit, eof, error, replaced or
// revoked. A session is never resurrected.
type SessionClose struct {
	ID     uint64
	Reason string
}

// QueenSeen records authenticated queen activity (refreshes last_seen_ms).
type QueenSeen struct{}

func (SessionOpen) isCmd()                                 {}
func (c SessionOpen) apply(s *State, nowMs uint64) Result  { return s.sessionOpen(c, nowMs) }
func (SessionClose) isCmd()                                {}
func (c SessionClose) apply(s *State, nowMs uint64) Result { return s.sessionClose(c, nowMs) }
func (QueenSeen) isCmd()                                   {}
func (QueenSeen) apply(s *State, nowMs uint64) Result {
	s.gov.sessions.lastSeenMs = nowMs
	return Result{}
}

// sessionTable is the authority's session and root record.
type sessionTable struct {
	list       []SessionInfo // by id; bounded by maxSessions
	active     bool          // the queen is reachable (see Root)
	revoked    bool          // a queen session was revoked
	policy     bool          // a queen attach failed while the root was cut
	lastSeenMs uint64
	wasCut     bool
}

func owner(role, subject string) string {
	if subject == "" || role == "queen" {
		return role
	}
	return role + ":" + subject
}

func (s *State) sessionOpen(c SessionOpen, nowMs uint64) Result {
	t := &s.gov.sessions
	state := SessionActive
	if s.lifecycle.State == "DRAINING" && c.Role != "queen" {
		state = SessionDraining
	}
	info := SessionInfo{ID: c.ID, Role: c.Role, Subject: c.Subject, Owner: owner(c.Role, c.Subject), Transport: c.Transport, State: state, SinceMs: nowMs}
	// SETUP is the state between authentication and acceptance; the
	// queen accepts in the same step, so a record starts ACTIVE (or
	// DRAINING while the node drains). The attach line is the audit.
	t.list = append(slices.Clone(t.list), info)
	if c.Role == "queen" {
		t.active, t.revoked, t.policy = true, false, false
		t.lastSeenMs = nowMs
	}
	s.trimSessions()
	s.rootChanged()
	return Result{}
}

func (s *State) sessionClose(c SessionClose, nowMs uint64) Result {
	t := &s.gov.sessions
	i := slices.IndexFunc(t.list, func(x SessionInfo) bool { return x.ID == c.ID })
	if i < 0 {
		return Result{Err: errs.New(errs.ErrNotFound, "session %d not found", c.ID)}
	}
	if t.list[i].State == SessionClosed {
		return Result{}
	}
	t.list = slices.Clone(t.list)
	t.list[i].State, t.list[i].SinceMs = SessionClosed, nowMs
	if t.list[i].Role == "queen" && s.queenSessions() == 0 {
		switch c.Reason {
		case "revoked":
			t.active, t.revoked = false, true
		case "eof", "error", "inactivity-timeout":
			t.active = false
		}
	}
	s.trimSessions()
	s.rootChanged()
	return Result{}
}

// trimSessions drops the oldest closed records beyond the manifest bound.
func (s *State) trimSessions() {
	t := &s.gov.sessions
	for len(t.list) > s.cfg.Gov.MaxSessions {
		i := slices.IndexFunc(t.list, func(x SessionInfo) bool { return x.State == SessionClosed })
		if i < 0 {
			return
		}
		t.list = slices.Delete(slices.Clone(t.list), i, i+1)
	}
}

// sessionsFollowLifecycle moves worker sessions into DRAINING when the node
// drains (new control actions are refused, telemetry completes) and back to
// ACTIVE when it resumes.
func (s *State) sessionsFollowLifecycle(nowMs uint64) {
	t := &s.gov.sessions
	want := SessionActive
	if s.lifecycle.State == "DRAINING" {
		want = SessionDraining
	}
	t.list = slices.Clone(t.list)
	for i := range t.list {
		x := &t.list[i]
		if x.Role == "queen" || x.State == SessionClosed || x.State == want {
			continue
		}
		x.State, x.SinceMs = want, nowMs
	}
	s.rootChanged()
}

// queenSessions counts open queen sessions.
func (s *State) queenSessions() int {
	n := 0
	for _, x := range s.gov.sessions.list {
		if x.Role == "queen" && x.State != SessionClosed {
			n++
		}
	}
	return n
}

// Root computes reachability (spec namespace §2, roadmap 21e, DECISIONS
// P10): the queen's authority lives in the root task, so the root is
// reachable from boot; it is cut when the last queen session is lost
// (eof, error, idle timeout: network_unreachable) or revoked, and stays
// cut until a queen attaches again. A clean quit is not a cut. OFFLINE
// always cuts. The reason follows the fixed priority.
func (s *State) Root() RootState {
	t := &s.gov.sessions
	r := RootState{LastSeenMs: t.lastSeenMs, CutReason: CutNone}
	switch {
	case s.lifecycle.State == "OFFLINE":
		r.CutReason = CutOffline
	case t.active:
		r.Reachable = true
	case t.revoked:
		r.CutReason = CutRevoked
	case t.policy:
		r.CutReason = CutPolicy
	default:
		r.CutReason = CutNetwork
	}
	return r
}

// rootChanged audits a change of reachability.
func (s *State) rootChanged() {
	r := s.Root()
	if r.Reachable == !s.gov.sessions.wasCut {
		return
	}
	s.gov.sessions.wasCut = !r.Reachable
	yes := "no"
	if r.Reachable {
		yes = "yes"
	}
	s.audit(fmt.Sprintf("root reachable=%s cut_reason=%s", yes, r.CutReason))
}

// queenAttachFailed sets the policy flag when a queen attach fails while
// no queen session is open.
func (s *State) queenAttachFailed() {
	if !s.gov.sessions.active {
		s.gov.sessions.policy = true
		s.rootChanged()
	}
}

// rootCut refuses a worker's authority action while the root is cut.
func (s *State) rootCut(who Who) error {
	if who.Role == "queen" || s.Root().Reachable || !Gate(s.lifecycle.State, "worker-telemetry") {
		return nil
	}
	s.audit(fmt.Sprintf("%s role=%s subject=%s cut_reason=%s", cutAuditLabel, who.Role, auditToken(who.Subject), s.Root().CutReason))
	return errs.New(errs.ErrCut, "root unreachable")
}

// IsInboxFull reports whether err is Submit's full-inbox refusal, which
// Submit has already counted in Pressure.Busy; transports must not count
// it again.
func IsInboxFull(err error) bool {
	return errors.Is(err, errs.ErrBusy) && errs.Message(err) == "queen inbox full"
}
