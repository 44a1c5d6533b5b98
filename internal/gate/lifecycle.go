package gate

import (
	"context"

	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

var bg = context.Background()

// OpenSession starts a session for an accepted attach and registers it
// with the queen (/proc/9p/session); ticket is the masked ticket for
// audit lines, peer the connection (transport tcp, serial or 9p).
func (ns *Namespace) OpenSession(role ticket.Role, subject, masked string, peer queen.Peer) *Session {
	s := ns.NewSession(role, subject)
	s.Ticket, s.Peer = masked, peer
	_, _ = ns.q.SubmitWait(bg, queen.SessionOpen{ID: s.ID, Role: s.Role.String(), Subject: subject, Transport: peer.Transport})
	return s
}

// CloseSession ends s: reason is quit, eof, error, replaced, revoked or
// inactivity-timeout. A closed session is never reopened. A session the
// authority ended (Live) closes as revoked, whatever its transport saw.
func (ns *Namespace) CloseSession(s *Session, reason string) {
	if s == nil {
		return
	}
	if ns.unguard(s) {
		reason = "revoked"
	}
	_, _ = ns.q.SubmitWait(bg, queen.SessionClose{ID: s.ID, Reason: reason})
}

// QueenSeen records authenticated queen activity (/proc/root/last_seen_ms).
// It waits for room rather than being dropped (DECISIONS P46, P52): a
// control command, so a telemetry backlog does not hold it up.
func (ns *Namespace) QueenSeen() { _, _ = ns.q.SubmitWait(bg, queen.QueenSeen{}) }
