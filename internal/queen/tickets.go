package queen

import (
	"sync"

	"github.com/cohesix/cohesix/internal/ticket"
)

// Tickets is the authority's per-ticket enforcement ledger (spec
// roles-tickets §5): one ticket.Enforcer per ticket token, shared by every
// session that presents the token.
//
// The state belongs to the authority, not to a session: quotas are
// per-ticket, so a holder who detaches and attaches again (or opens a
// console and a 9P session side by side) must find its cursor resumes,
// advances and bandwidth already spent, or a reattach would reset them.
// It lives beside the State actor rather than in it because reads consult
// it, and reads never queue behind the inbox (they render from snapshots);
// like Pressure it is guarded by its own lock, and it decides nothing the
// journal replays. It is not persisted (telemetry.cursor.retain_on_boot is
// false in every profile this build serves).
//
// The ledger holds at most max entries (queen.max_sessions); when full the
// oldest ticket is forgotten, which can only refund a ticket that has not
// been presented for max newer tickets.
type Tickets struct {
	mu    sync.Mutex
	max   int
	m     map[string]*ticket.Enforcer
	order []string
}

// Enforcer returns the state of token, creating it with mk on first use.
// A nil result from mk (nothing to enforce) is not stored.
func (t *Tickets) Enforcer(token string, max int, mk func() *ticket.Enforcer) *ticket.Enforcer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[token]; ok {
		return e
	}
	e := mk()
	if e == nil {
		return nil
	}
	if t.m == nil {
		t.m = map[string]*ticket.Enforcer{}
	}
	if max < 1 {
		max = 1
	}
	for len(t.order) >= max {
		delete(t.m, t.order[0])
		t.order = t.order[1:]
	}
	t.m[token] = e
	t.order = append(t.order, token)
	return e
}
