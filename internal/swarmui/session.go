package swarmui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// CookieName is the browser session cookie; it holds only a random id,
// never the ticket (20f: no secret in the page).
const CookieName = "cohesix_ui"

// session is one logged-in browser: its upstream session attached with
// the ticket, the role and subject the ticket names, its rate window and
// its console attach state.
type session struct {
	id      string
	role    string
	subject string
	ticket  string // for the console's attach; never sent to the page
	key     string // subjectKey: whom swarmui.sessions_per_subject counts
	hive    Hive

	mu      sync.Mutex
	last    time.Time // guarded by mu: the last request, for idle eviction
	winAt   time.Time // guarded by mu: start of the current one-second rate window
	winUsed int       // guarded by mu: requests in the window

	fids openFids // the kept /proc/ui fids (fids.go)

	consoleMu sync.Mutex // one console command at a time per session
	console   *consoleState
	following atomic.Bool // a tail -f stream is open (one per session)
}

// allow counts one request against the per-session rate and says how long
// to wait when the window is full.
func (s *session) allow(now time.Time, perS int) (bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = now
	if now.Sub(s.winAt) >= time.Second {
		s.winAt, s.winUsed = now, 0
	}
	if s.winUsed >= perS {
		return false, time.Second - now.Sub(s.winAt)
	}
	s.winUsed++
	return true, 0
}

func (s *session) idleSince(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.last)
}

// sessions is the bounded cookie table. Over the bound the oldest idle
// session is evicted; an idle session past the idle limit is evicted on
// the next lookup sweep. One subject holds at most perSubject sessions:
// over that its next login is refused, so a flood of valid logins cannot
// evict other operators through the LRU rule.
type sessions struct {
	max        int
	perSubject int
	idle       time.Duration

	mu sync.Mutex
	m  map[string]*session // guarded by mu
}

var errTableFull = errors.New("too many UI sessions: log out elsewhere or wait for idle sessions to expire")

// errSubjectFull is a login over swarmui.sessions_per_subject (429).
type errSubjectFull struct {
	subject string
	n       int
}

func (e *errSubjectFull) Error() string {
	return fmt.Sprintf("this ticket's subject %s already has %d UI sessions (swarmui.sessions_per_subject): log out of one or wait for it to expire", e.subject, e.n)
}

// subjectKey is whom the per-subject cap counts: the role and subject a
// ticket names, or the ticket itself when it names no subject (a queen
// ticket), so that two operators' subject-less tickets are two keys.
func subjectKey(role, subject, tok string) string {
	if subject != "" {
		return role + "/" + subject
	}
	h := sha256.Sum256([]byte(tok))
	return role + "#" + hex.EncodeToString(h[:8])
}

// subjectName is a subject key as a log line may show it (never a ticket).
func subjectName(key string) string { return strconv.Quote(key) }

// subjectFull is the per-subject refusal for key, nil when there is room
// (expired sessions do not count). It is checked before the upstream
// dial, so a flood costs the hive nothing, and again in add.
func (t *sessions) subjectFull(key string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.subjectFullLocked(key, now)
}

func (t *sessions) subjectFullLocked(key string, now time.Time) error {
	if t.perSubject <= 0 {
		return nil
	}
	n := 0
	for _, x := range t.m {
		if x.key == key && x.idleSince(now) < t.idle {
			n++
		}
	}
	if n >= t.perSubject {
		return &errSubjectFull{subject: subjectName(key), n: n}
	}
	return nil
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// add registers s under a fresh id, evicting expired sessions and, when
// the table is still full, the least recently used one.
func (t *sessions) add(s *session, now time.Time) error {
	t.mu.Lock()
	var evict []*session
	defer func() {
		t.mu.Unlock()
		for _, e := range evict {
			e.close()
		}
	}()
	for id, x := range t.m {
		if x.idleSince(now) >= t.idle {
			delete(t.m, id)
			evict = append(evict, x)
		}
	}
	if err := t.subjectFullLocked(s.key, now); err != nil {
		return err
	}
	if len(t.m) >= t.max {
		var oldest *session
		for _, x := range t.m {
			if oldest == nil || x.idleSince(now) > oldest.idleSince(now) {
				oldest = x
			}
		}
		if oldest == nil {
			return errTableFull
		}
		delete(t.m, oldest.id)
		evict = append(evict, oldest)
	}
	s.id, s.last = newID(), now
	t.m[s.id] = s
	return nil
}

// get returns the live session id names; an expired one is removed.
func (t *sessions) get(id string, now time.Time) (*session, bool) {
	t.mu.Lock()
	s, ok := t.m[id]
	if ok && s.idleSince(now) >= t.idle {
		delete(t.m, id)
		t.mu.Unlock()
		s.close()
		return nil, false
	}
	t.mu.Unlock()
	return s, ok
}

func (t *sessions) remove(id string) {
	t.mu.Lock()
	s, ok := t.m[id]
	delete(t.m, id)
	t.mu.Unlock()
	if ok {
		s.close()
	}
}

func (t *sessions) closeAll() {
	t.mu.Lock()
	m := t.m
	t.m = map[string]*session{}
	t.mu.Unlock()
	for _, s := range m {
		s.close()
	}
}

func (t *sessions) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

func (s *session) close() {
	s.fids.mu.Lock()
	s.fids.closeAll()
	s.fids.mu.Unlock()
	if s.hive != nil {
		s.hive.Close()
	}
}
