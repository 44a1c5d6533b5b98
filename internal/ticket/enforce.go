package ticket

import (
	"fmt"
	"sync"
)

// Denial is one per-ticket refusal (spec §5): Reason is scope, rate,
// bandwidth, cursor-resume or cursor-advance. Audit is the spec's
// ui-ticket line; Quota tells ELIMIT (rate, bandwidth, cursor) from EPERM
// (scope).
type Denial struct {
	Reason string
	Path   string
	Verb   Verb
	Audit  string
}

func (d *Denial) Error() string {
	if d.Quota() {
		return fmt.Sprintf("ticket %s limit reached on %s", d.Reason, d.Path)
	}
	return fmt.Sprintf("ticket scope does not allow %s on %s", d.Verb, d.Path)
}

// Quota reports whether d is a quota denial (ELIMIT) rather than a scope
// denial (EPERM).
func (d *Denial) Quota() bool { return d.Reason != "scope" }

// Enforcer holds one ticket's scope and quota state (spec §5): the rate
// window of each scope, the bandwidth spent, the cursor resumes and
// advances spent and the last recorded end of each telemetry cursor. It is
// safe for concurrent use: every session that holds the ticket shares it.
type Enforcer struct {
	role     Role
	masked   string
	scopes   []Scope
	q        Quotas // effective quotas; 0 is unlimited
	windowMs uint64
	maxCurs  int

	mu       sync.Mutex
	windows  []RateWindow // by scope index
	bwUsed   uint64
	resumes  uint32
	advances uint32
	cursors  map[string]uint64 // path → last recorded end
	order    []string          // cursor paths, oldest first
}

// NewEnforcer returns the enforcement state for claims under lim, or nil
// when there is nothing to enforce (no scopes and no effective quota).
// defaults says whether an absent quota takes the manifest cap (spec §5);
// the caller passes false for tickets the spec leaves unbounded.
// maxCursors bounds the cursor table (the oldest cursor is forgotten, so
// its next read is an advance, not a resume); windowMs is the rate window.
func NewEnforcer(c Claims, lim Limits, defaults bool, masked string, windowMs uint64, maxCursors int) *Enforcer {
	q := c.Quotas
	if defaults {
		q = lim.EffectiveQuotas(q)
	}
	if len(c.Scopes) == 0 && q.IsZero() {
		return nil
	}
	if maxCursors < 1 {
		maxCursors = 1
	}
	return &Enforcer{
		role: c.Role, masked: masked, scopes: c.Scopes, q: q, windowMs: windowMs, maxCurs: maxCursors,
		windows: make([]RateWindow, len(c.Scopes)), cursors: map[string]uint64{},
	}
}

// Quotas returns the effective quotas.
func (e *Enforcer) Quotas() Quotas { return e.q }

func (e *Enforcer) deny(reason, path string, v Verb, extra string) *Denial {
	line := fmt.Sprintf("ui-ticket outcome=deny reason=%s role=%s ticket=%s path=%s verb=%s", reason, e.role, e.masked, path, v)
	if extra != "" {
		line += " " + extra
	}
	return &Denial{Reason: reason, Path: path, Verb: v, Audit: line}
}

// Authorize applies the scope check and its rate limit to one request.
// Without scopes every path is allowed and no rate applies.
func (e *Enforcer) Authorize(path string, v Verb, listing bool, nowMs uint64) *Denial {
	return e.authorize(path, v, listing, nowMs, true)
}

// Scope applies the scope check alone (a 9P open: its reads and writes
// are the requests the rate counts).
func (e *Enforcer) Scope(path string, v Verb, listing bool) *Denial {
	return e.authorize(path, v, listing, 0, false)
}

func (e *Enforcer) authorize(path string, v Verb, listing bool, nowMs uint64, rate bool) *Denial {
	if len(e.scopes) == 0 {
		return nil
	}
	req, ok := components(path)
	if !ok {
		return e.deny("scope", path, v, "")
	}
	best, bestLen := -1, -1
	for i, s := range e.scopes { // MatchScope, keeping the index for the window
		sc, ok := components(s.Path)
		if !ok || !s.Verb.Allows(v) || !(hasPrefix(req, sc) || listing && hasPrefix(sc, req)) {
			continue
		}
		if len(sc) > bestLen {
			best, bestLen = i, len(sc)
		}
	}
	if best < 0 {
		return e.deny("scope", path, v, "")
	}
	if !rate {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.scopes[best]
	if !e.windows[best].Allow(nowMs, s.RatePerS, e.windowMs) {
		return e.deny("rate", path, v, fmt.Sprintf("limit_per_s=%d window_ms=%d", s.RatePerS, e.windowMs))
	}
	return nil
}

// Bandwidth refuses a transfer of n bytes that exceeds the remaining
// budget, else spends it (spec §5: consumed after success; the caller
// calls it once the bytes are known and before it sends them).
func (e *Enforcer) Bandwidth(path string, v Verb, n uint64) *Denial {
	if e.q.BandwidthBytes == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	left := e.q.BandwidthBytes - e.bwUsed
	if n > left {
		return e.deny("bandwidth", path, v, fmt.Sprintf("limit_bytes=%d remaining_bytes=%d requested_bytes=%d", e.q.BandwidthBytes, left, n))
	}
	e.bwUsed += n
	return nil
}

// Cursor charges one read of a telemetry path at offset off (spec §5):
// every read is an advance, and a read below the cursor's last recorded
// end is also a resume. A read whose quota is spent is refused and
// charges nothing.
func (e *Enforcer) Cursor(path string, off uint64) *Denial {
	e.mu.Lock()
	defer e.mu.Unlock()
	end, seen := e.cursors[path]
	resume := seen && off < end
	if resume && e.q.CursorResumes > 0 && e.resumes >= e.q.CursorResumes {
		return e.deny("cursor-resume", path, VerbRead, fmt.Sprintf("limit=%d", e.q.CursorResumes))
	}
	if e.q.CursorAdvances > 0 && e.advances >= e.q.CursorAdvances {
		return e.deny("cursor-advance", path, VerbRead, fmt.Sprintf("limit=%d", e.q.CursorAdvances))
	}
	if resume {
		e.resumes++
	}
	e.advances++
	return nil
}

// Record sets the cursor of path to end, the offset after a read.
func (e *Enforcer) Record(path string, end uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cursors[path]; !ok {
		if len(e.order) >= e.maxCurs {
			delete(e.cursors, e.order[0])
			e.order = e.order[1:]
		}
		e.order = append(e.order, path)
	}
	e.cursors[path] = end
}

// Spent returns the resumes, advances and bandwidth bytes used so far.
func (e *Enforcer) Spent() (resumes, advances uint32, bandwidth uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resumes, e.advances, e.bwUsed
}
