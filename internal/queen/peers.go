package queen

import (
	"container/list"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
)

// PeerConfig bounds the per-peer tables (network.peer_table_max,
// network.audit_summary_window_ms).
type PeerConfig struct {
	TableMax      int    // most throttle keys and most audit windows kept
	AuditWindowMs uint64 // one written line plus one summary per peer per window
}

// DefaultPeers reads the peer table bounds from the generated tables.
func DefaultPeers() PeerConfig {
	return PeerConfig{TableMax: generated.NetworkPeerTableMax, AuditWindowMs: generated.NetworkAuditSummaryWindowMs}
}

// Peer is where an attempt to authenticate came from.
type Peer struct {
	Transport string // tcp, 9p or serial; "" for a caller with no transport (tests)
	Remote    string // host:port as the socket reports it; "" on serial
	// Via is the client a trusted forwarder (network.trusted_forwarders,
	// DECISIONS P48) attached for, as a canonical ip:port; "" for a direct
	// peer. When set it is the throttle identity: the forwarder speaks for
	// many clients and must not be locked out for one of them.
	Via string
}

// PeerOf returns the peer of a connection on transport whose remote end is a.
func PeerOf(transport string, a net.Addr) Peer {
	p := Peer{Transport: transport}
	if a != nil {
		p.Remote = a.String()
	}
	return p
}

// Addr is the throttle identity of the peer: the IP alone (a client picks
// its port freely), the remote string when it is not host:port, or the
// transport on a line with no address (the serial line is one peer).
func (p Peer) Addr() string {
	if p.Via != "" {
		if ap, err := netip.ParseAddrPort(p.Via); err == nil {
			return ap.Addr().Unmap().String()
		}
		return p.Via
	}
	if p.Remote == "" {
		if p.Transport == "" {
			return "local"
		}
		return p.Transport
	}
	if ap, err := netip.ParseAddrPort(p.Remote); err == nil {
		return ap.Addr().Unmap().String()
	}
	if host, _, err := net.SplitHostPort(p.Remote); err == nil {
		return host
	}
	return p.Remote
}

// Fields are the key=value pairs every audit line about the peer ends with:
// " transport=tcp remote=127.0.0.2:40000", " transport=9p
// remote=127.0.0.1:5000 via=192.0.2.7:443" for a forwarded client, or ""
// for no transport.
func (p Peer) Fields() string {
	switch {
	case p.Transport == "":
		return ""
	case p.Remote == "":
		return " transport=" + p.Transport
	}
	return " transport=" + p.Transport + p.RemoteFields()
}

// RemoteFields are " remote=<addr>" and, for a forwarded client,
// " via=<addr>"; "" for a peer with no address.
func (p Peer) RemoteFields() string {
	if p.Remote == "" {
		return ""
	}
	if p.Via != "" {
		return " remote=" + p.Remote + " via=" + p.Via
	}
	return " remote=" + p.Remote
}

// networked reports whether the peer reached the hive over a network: only
// those failures are summarised (the serial line is physical access).
func (p Peer) networked() bool { return p.Remote != "" }

// peerKeys are the throttle keys of an attempt: the source address, and the
// presented ticket's subject when it has a printable one. Every key is
// checked before an attempt; see failedKeys for the ones a failure counts.
func peerKeys(p Peer, subject string) []string {
	keys := []string{"peer=" + p.Addr()}
	if subject != "" && printableToken(subject) {
		keys = append(keys, "subject="+subject)
	}
	return keys
}

// failedKeys are the keys a failure counts against: the source address,
// and the subject only when the ticket's MAC did not verify (a guess). A
// genuine but expired or misused ticket is its holder's mistake, not a
// guess at the subject, and must not lock the subject's worker out.
func failedKeys(p Peer, subject string, guess bool) []string {
	if !guess {
		subject = ""
	}
	return peerKeys(p, subject)
}

// printableToken reports whether s is visible ASCII without spaces, so a
// key renders as one field of a /proc/peers line.
func printableToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// lru is a map bounded to max entries that evicts the least recently used.
type lru[V any] struct {
	max   int
	order *list.List // front is the most recently used; values are *lruItem[V]
	byKey map[string]*list.Element
}

type lruItem[V any] struct {
	key string
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the value of key and marks it used, or nil.
func (l *lru[V]) get(key string) *V {
	e, ok := l.byKey[key]
	if !ok {
		return nil
	}
	l.order.MoveToFront(e)
	return &e.Value.(*lruItem[V]).val
}

// add inserts a zero value for key (which must be absent) and returns it;
// when the table is full it first evicts the least recently used entry,
// handing it to evicted (if not nil).
func (l *lru[V]) add(key string, evicted func(key string, v *V)) *V {
	if l.max > 0 && l.order.Len() >= l.max {
		e := l.order.Back()
		it := e.Value.(*lruItem[V])
		l.order.Remove(e)
		delete(l.byKey, it.key)
		if evicted != nil {
			evicted(it.key, &it.val)
		}
	}
	it := &lruItem[V]{key: key}
	l.byKey[key] = l.order.PushFront(it)
	return &it.val
}

func (l *lru[V]) remove(key string) {
	if e, ok := l.byKey[key]; ok {
		l.order.Remove(e)
		delete(l.byKey, key)
	}
}

func (l *lru[V]) len() int { return l.order.Len() }

// each calls f for every entry, most recently used first; f may not add.
func (l *lru[V]) each(f func(key string, v *V) (remove bool)) {
	for e := l.order.Front(); e != nil; {
		next := e.Next()
		it := e.Value.(*lruItem[V])
		if f(it.key, &it.val) {
			l.order.Remove(e)
			delete(l.byKey, it.key)
		}
		e = next
	}
}

// auditWindow counts one peer's unauthenticated failures in the current
// summary window; only the first is written as it happens.
type auditWindow struct {
	peer     Peer
	startMs  uint64
	failures int
}

// peerTables are the per-peer throttle and audit summary state.
type peerTables struct {
	throttle *lru[throttle]    // by peer key (peer=<ip>, subject=<id>)
	audit    *lru[auditWindow] // by transport and address
	view     []PeerView        // blocked keys at the last change
	dirty    bool
}

func (s *State) peerInit() *peerTables {
	if s.peers.throttle == nil {
		s.peers.throttle = newLRU[throttle](s.cfg.Peers.TableMax)
		s.peers.audit = newLRU[auditWindow](s.cfg.Peers.TableMax)
	}
	return &s.peers
}

// peerBlock is why a key refuses attempts now.
type peerBlock struct {
	key     string
	locked  bool
	delayMs uint64
}

// peerBlocked returns the block of the first blocked key (a lockout before
// a back-off), or ok false when every key may try now. It creates nothing.
func (s *State) peerBlocked(keys []string, nowMs uint64) (b peerBlock, ok bool) {
	pt := s.peerInit()
	for _, k := range keys {
		t := pt.throttle.get(k)
		switch {
		case t == nil:
		case nowMs < t.lockedUntil:
			return peerBlock{key: k, locked: true, delayMs: t.lockedUntil - nowMs}, true
		case nowMs < t.blockedUntil && !ok:
			b, ok = peerBlock{key: k, delayMs: t.blockedUntil - nowMs}, true
		}
	}
	return b, ok
}

// refusal is the console refusal of a block (spec console §6 wording).
func (b peerBlock) refusal() *Refusal {
	detail := "throttled"
	if b.locked {
		detail = "rate-limited"
	}
	return &Refusal{Reason: "quota", Detail: detail, Extra: []string{"delay_ms", strconv.FormatUint(b.delayMs, 10)}}
}

// peerFailed counts a failure against every key: back-off
// base × 2^min(n-1, max exp), and a lockout after LockoutFailures inside
// the window. It returns the lockout lines, written whatever the summary
// window (a key locks at most once per cooldown).
func (s *State) peerFailed(keys []string, label string, p Peer, nowMs uint64) []string {
	pt := s.peerInit()
	cfg := s.throttleCfg
	var lines []string
	for _, k := range keys {
		t := pt.throttle.get(k)
		if t == nil {
			t = pt.throttle.add(k, nil)
		}
		t.failures++
		exp := min(t.failures-1, cfg.BackoffMaxExp)
		t.blockedUntil = nowMs + cfg.BackoffBaseMs<<exp
		t.recent = slices.DeleteFunc(t.recent, func(at uint64) bool { return nowMs-at >= cfg.LockoutWindowMs })
		t.recent = append(t.recent, nowMs)
		if len(t.recent) >= cfg.LockoutFailures {
			t.lockedUntil = nowMs + cfg.LockoutCoolMs
			t.recent = nil
			lines = append(lines, fmt.Sprintf("%s rate limited: %s failures=%d window_ms=%d cooldown_ms=%d%s", label, k, cfg.LockoutFailures, cfg.LockoutWindowMs, cfg.LockoutCoolMs, p.Fields()))
		}
	}
	pt.dirty = true
	return lines
}

// peerSucceeded forgets the keys of an attempt that authenticated.
func (s *State) peerSucceeded(keys []string) {
	pt := s.peerInit()
	for _, k := range keys {
		if pt.throttle.get(k) != nil {
			pt.throttle.remove(k)
			pt.dirty = true
		}
	}
}

// peerAudit writes the lines of one unauthenticated failure of p. For a
// networked peer only the first failure of a summary window is written;
// the rest are counted and summarised in one line when the window ends
// (the next failure after it, or a tick), so one peer cannot push the
// ring's real lines out.
func (s *State) peerAudit(p Peer, nowMs uint64, lines ...string) {
	if !p.networked() {
		for _, l := range lines {
			s.audit(l)
		}
		return
	}
	pt := s.peerInit()
	key := p.Transport + " " + p.Addr()
	w := pt.audit.get(key)
	if w != nil && nowMs-w.startMs >= s.cfg.Peers.AuditWindowMs {
		s.summarise(w)
		pt.audit.remove(key)
		w = nil
	}
	if w != nil {
		w.failures++
		w.peer = p
		return
	}
	w = pt.audit.add(key, func(_ string, old *auditWindow) { s.summarise(old) })
	*w = auditWindow{peer: p, startMs: nowMs, failures: 1}
	for _, l := range lines {
		s.audit(l)
	}
}

// summarise writes the summary line of a window that counted more than
// the failure it wrote.
func (s *State) summarise(w *auditWindow) {
	if w.failures <= 1 {
		return
	}
	s.audit(fmt.Sprintf("peer failures summary peer=%s%s failures=%d suppressed=%d window_ms=%d",
		w.peer.Addr(), w.peer.Fields(), w.failures, w.failures-1, s.cfg.Peers.AuditWindowMs))
}

// peerTick ends the summary windows that are over.
func (s *State) peerTick(nowMs uint64) {
	pt := s.peerInit()
	pt.audit.each(func(_ string, w *auditWindow) bool {
		if nowMs-w.startMs < s.cfg.Peers.AuditWindowMs {
			return false
		}
		s.summarise(w)
		return true
	})
}

// PeerView is one blocked key as /proc/peers shows it.
type PeerView struct {
	Key      string // peer=<ip> or subject=<id>
	Failures int
	Locked   bool
	UntilMs  uint64 // the block ends then
}

// peerView lists the keys blocked at nowMs; it is rebuilt only after a
// change, and readers drop entries whose block has passed since.
func (s *State) peerView(nowMs uint64) []PeerView {
	pt := s.peerInit()
	if !pt.dirty {
		return pt.view
	}
	var v []PeerView
	pt.throttle.each(func(k string, t *throttle) bool {
		switch {
		case nowMs < t.lockedUntil:
			v = append(v, PeerView{Key: k, Failures: t.failures, Locked: true, UntilMs: t.lockedUntil})
		case nowMs < t.blockedUntil:
			v = append(v, PeerView{Key: k, Failures: t.failures, UntilMs: t.blockedUntil})
		}
		return false
	})
	slices.SortFunc(v, func(a, b PeerView) int { return strings.Compare(a.Key, b.Key) })
	pt.view, pt.dirty = v, false
	return v
}

// PeerAttempt is the outcome of an AUTH or a Tattach checked outside the
// authority. The block is checked again first, so concurrent attempts
// learn at most one verdict per back-off: a blocked attempt gets the
// refusal and its verdict is not revealed. Lines explain a failure.
// Authenticated marks a success that fully authenticates the peer (a
// Tattach) and resets its keys; an accepted AUTH does not, since ATTACH
// guesses follow it on the same keys.
type PeerAttempt struct {
	Peer          Peer
	Subject       string
	Label         string
	Failed        bool
	Guess         bool // the failure is a ticket whose MAC did not verify
	Authenticated bool
	Lines         []string
	// WorkerGate, when not "", is the role of a verified worker ticket on a
	// first Tattach: the authority applies the worker-attach lifecycle
	// gate before the verdict, so a closed gate refuses it (EPERM) whatever
	// the later checks found, and Lines then give way to the gate's lines.
	WorkerGate string
}

// PeerNote writes lines about a refusal of an unauthenticated (or not
// yet attached) peer under its summary window, counting no failure: a
// peer opening connection after connection to send one bad frame each
// cannot push the ring's real lines out.
type PeerNote struct {
	Peer  Peer
	Lines []string
}

func (PeerAttempt) isCmd()                                {}
func (c PeerAttempt) apply(s *State, nowMs uint64) Result { return s.peerAttempt(c, nowMs) }
func (PeerNote) isCmd()                                   {}
func (c PeerNote) apply(s *State, nowMs uint64) Result {
	s.peerAudit(c.Peer, nowMs, c.Lines...)
	return Result{}
}

// errGateDenied refuses a Tattach the worker-attach gate holds back.
var errGateDenied = errs.New(errs.ErrPermission, "EPERM")

func (s *State) peerAttempt(c PeerAttempt, nowMs uint64) Result {
	keys := peerKeys(c.Peer, c.Subject)
	if b, blocked := s.peerBlocked(keys, nowMs); blocked {
		s.peerAudit(c.Peer, nowMs, blockLine(c.Label, b, c.Peer))
		return Result{Err: b.refusal()}
	}
	var err error
	if c.WorkerGate != "" && !Gate(s.lifecycle.State, "worker-attach") {
		c.Failed, c.Guess, c.Authenticated, err = true, false, false, errGateDenied
		c.Lines = []string{fmt.Sprintf("lifecycle denied action=worker-attach state=%s reason=gate-denied", s.lifecycle.State),
			fmt.Sprintf("%s denied role=%s reason=gate-denied%s", c.Label, c.WorkerGate, c.Peer.Fields())}
	}
	if !c.Failed {
		if c.Authenticated {
			s.peerSucceeded(keys)
		}
		return Result{}
	}
	locks := s.peerFailed(failedKeys(c.Peer, c.Subject, c.Guess), c.Label, c.Peer, nowMs)
	s.peerAudit(c.Peer, nowMs, c.Lines...)
	for _, l := range locks {
		s.audit(l)
	}
	return Result{Err: err}
}

func blockLine(label string, b peerBlock, p Peer) string {
	state := "throttled"
	if b.locked {
		state = "rate-limited"
	}
	return fmt.Sprintf("%s %s %s delay_ms=%d%s", label, state, b.key, b.delayMs, p.Fields())
}
