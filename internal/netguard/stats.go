package netguard

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are one listener's counters, shown in /proc/net/<listener>. The
// handshake and idle timeouts are counted by the connection handlers,
// which alone know why they closed a connection.
type Stats struct {
	Open              atomic.Int64  // connections being served now
	AcceptErrors      atomic.Uint64 // failed accepts, temporary or not
	Backoffs          atomic.Uint64 // pauses after a temporary accept error
	RefusedPeerCap    atomic.Uint64 // connections closed over the per-peer cap
	HandshakeTimeouts atomic.Uint64 // closed before authenticating in time
	IdleTimeouts      atomic.Uint64 // closed after sending nothing for too long

	handshakeLines Summary
	idleLines      Summary
}

// Line renders the counters as one key=value line.
func (s *Stats) Line() string {
	return fmt.Sprintf("open=%d accept_errors=%d backoffs=%d refused_peer_cap=%d handshake_timeouts=%d idle_timeouts=%d",
		max(s.Open.Load(), 0), s.AcceptErrors.Load(), s.Backoffs.Load(), s.RefusedPeerCap.Load(),
		s.HandshakeTimeouts.Load(), s.IdleTimeouts.Load())
}

// HandshakeTimeout counts a connection closed because it did not
// authenticate in time and returns its audit line, or "" when this
// window's line is already written (the count goes in the next one).
func (s *Stats) HandshakeTimeout(listener, remote string, window time.Duration) string {
	n := s.HandshakeTimeouts.Add(1)
	return summarise(&s.handshakeLines, window, fmt.Sprintf("netguard: connection closed listener=%s remote=%s reason=handshake-timeout handshake_timeouts=%d", listener, remote, n))
}

// IdleTimeout is HandshakeTimeout for a connection that went silent.
func (s *Stats) IdleTimeout(listener, remote string, window time.Duration) string {
	n := s.IdleTimeouts.Add(1)
	return summarise(&s.idleLines, window, fmt.Sprintf("netguard: connection closed listener=%s remote=%s reason=idle-timeout idle_timeouts=%d", listener, remote, n))
}

func summarise(s *Summary, window time.Duration, line string) string {
	ok, held := s.Note(time.Now(), window)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s suppressed=%d", line, held)
}

// Summary rate-limits one kind of audit line so that a flood of events
// cannot push other entries out of the audit ring: the first event of a
// window is written, the others are only counted, and that count is
// reported by the first line of a later window.
type Summary struct {
	mu   sync.Mutex
	next time.Time // guarded by mu: when the next line may be written
	held uint64    // guarded by mu: events not written since the last line
}

// Note records one event at now. write reports whether its line should
// be written; held is then the number of events held back before it.
func (s *Summary) Note(now time.Time, window time.Duration) (write bool, held uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.next) {
		s.held++
		return false, 0
	}
	held, s.held = s.held, 0
	s.next = now.Add(window)
	return true, held
}
