package queen

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func tcpPeer(ip string, port int) Peer {
	return PeerOf("tcp", &net.TCPAddr{IP: net.ParseIP(ip), Port: port})
}

func refusalOf(t *testing.T, r Result) *Refusal {
	t.Helper()
	var got *Refusal
	if r.Err != nil && !errors.As(r.Err, &got) {
		t.Fatalf("error %v is not a *Refusal", r.Err)
	}
	return got
}

func TestPeerAddr(t *testing.T) {
	tests := []struct {
		peer       Peer
		addr, tail string
	}{
		{tcpPeer("127.0.0.2", 4000), "127.0.0.2", " transport=tcp remote=127.0.0.2:4000"},
		{PeerOf("9p", &net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1"), Port: 1}), "10.0.0.1", " transport=9p remote=10.0.0.1:1"},
		{PeerOf("tcp", &net.TCPAddr{IP: net.ParseIP("::1"), Port: 7}), "::1", " transport=tcp remote=[::1]:7"},
		{Peer{Transport: "serial"}, "serial", " transport=serial"},
		{Peer{Transport: "tcp", Remote: "pipe"}, "pipe", " transport=tcp remote=pipe"},
		{Peer{}, "local", ""},
	}
	for _, tt := range tests {
		if got := tt.peer.Addr(); got != tt.addr {
			t.Errorf("%+v.Addr() = %q; want %q", tt.peer, got, tt.addr)
		}
		if got := tt.peer.Fields(); got != tt.tail {
			t.Errorf("%+v.Fields() = %q; want %q", tt.peer, got, tt.tail)
		}
	}
}

// One peer's failures throttle and lock that peer only: the operator on
// another address attaches meanwhile, and its success does not unblock the
// attacker.
func TestAttachThrottleIsPerPeer(t *testing.T) {
	s := NewState(testConfig(), 0)
	attacker, operator := tcpPeer("127.0.0.2", 5000), tcpPeer("127.0.0.1", 6000)
	for i, at := range []uint64{0, 250, 750} {
		if got := refusalOf(t, s.Apply(Attach{Peer: tcpPeer("127.0.0.2", 5000+i), Role: "queen", Verdict: denied}, at)); got != denied {
			t.Fatalf("failure %d: refusal %v; want the verdict", i, got)
		}
		if r := s.Apply(Attach{Peer: operator, Role: "queen"}, at+1); r.Err != nil {
			t.Fatalf("operator attach after attacker failure %d = %v; want nil", i, r.Err)
		}
	}
	if diff := cmp.Diff(rateLimited(89_000), refusalOf(t, s.Apply(Attach{Peer: attacker, Role: "queen"}, 1750))); diff != "" {
		t.Errorf("attacker with a valid ticket while locked (-want +got):\n%s", diff)
	}
	if got := s.snapshot(1, 1750).Peers; len(got) != 1 || got[0].Key != "peer=127.0.0.2" || !got[0].Locked || got[0].Failures != 3 {
		t.Errorf("snapshot peers = %+v; want 127.0.0.2 locked after 3 failures", got)
	}
	if r := s.Apply(Attach{Peer: attacker, Role: "queen"}, 750+90_000); r.Err != nil {
		t.Errorf("attacker after the cooldown = %v; want nil", r.Err)
	}
	if got := s.snapshot(2, 750+90_000).Peers; len(got) != 0 {
		t.Errorf("snapshot peers after success = %+v; want none", got)
	}
}

// A ticket subject is a key of its own: failures naming worker-1 from
// many addresses lock worker-1 out, not the addresses' other subjects, and
// a queen attach (no subject) from an unblocked address still passes.
func TestAttachThrottleBySubject(t *testing.T) {
	s := NewState(testConfig(), 0)
	for i, at := range []uint64{0, 250, 750} { // the subject's own back-off
		p := tcpPeer(fmt.Sprintf("10.0.0.%d", i+1), 1)
		if got := refusalOf(t, s.Apply(Attach{Peer: p, Subject: "worker-1", Guess: true, Role: "worker-heartbeat", Verdict: denied}, at)); got != denied {
			t.Fatalf("failure %d = %v; want the verdict", i, got)
		}
	}
	fresh := tcpPeer("10.0.0.9", 1)
	got := refusalOf(t, s.Apply(Attach{Peer: fresh, Subject: "worker-1", Role: "worker-heartbeat"}, 800))
	if got == nil || got.Detail != "rate-limited" {
		t.Errorf("worker-1 from a fresh address = %v; want rate-limited", got)
	}
	if r := s.Apply(Attach{Peer: fresh, Subject: "worker-2", Role: "queen"}, 801); r.Err != nil {
		t.Errorf("another subject from the fresh address = %v; want nil", r.Err)
	}
	if r := s.Apply(Attach{Peer: fresh, Role: "queen"}, 802); r.Err != nil {
		t.Errorf("queen from the fresh address = %v; want nil", r.Err)
	}
	keys := map[string]bool{}
	for _, v := range s.snapshot(1, 802).Peers {
		keys[v.Key] = true
	}
	if !keys["subject=worker-1"] || !keys["peer=10.0.0.3"] || keys["peer=10.0.0.9"] {
		t.Errorf("blocked keys = %v; want subject=worker-1 and the failing addresses only", keys)
	}
	if len(peerKeys(fresh, "bad id")) != 1 {
		t.Errorf("a subject with a space became a key; want the address alone")
	}
}

// A genuine ticket refused for another reason (expired, wrong lifecycle)
// counts against the address only: its worker is not locked out.
func TestAttachGenuineTicketSparesSubject(t *testing.T) {
	s := NewState(testConfig(), 0)
	expired := &Refusal{Reason: "quota", Detail: "expired"}
	for i, at := range []uint64{0, 250, 750} {
		s.Apply(Attach{Peer: tcpPeer(fmt.Sprintf("10.0.0.%d", i+1), 1), Subject: "worker-1", Role: "worker-heartbeat", Verdict: expired}, at)
	}
	if got := refusalOf(t, s.Apply(Attach{Peer: tcpPeer("10.0.0.9", 1), Subject: "worker-1", Role: "queen"}, 800)); got != nil {
		t.Errorf("worker-1 from a fresh address after expired tickets = %v; want accepted", got)
	}
}

// A spray of source addresses cannot grow the table past its bound; it
// evicts the least recently used, and a recently failed peer survives a
// spray smaller than the table.
func TestPeerTableBound(t *testing.T) {
	cfg := testConfig() // the manifest's network.peer_table_max
	s := NewState(cfg, 0)
	s.Apply(Attach{Peer: tcpPeer("127.0.0.2", 1), Role: "queen", Verdict: denied}, 0)
	for i := range 10_000 {
		p := tcpPeer(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), 1)
		s.Apply(Attach{Peer: p, Role: "queen", Verdict: denied}, uint64(i))
		if n := s.peers.throttle.len(); n > cfg.Peers.TableMax {
			t.Fatalf("after %d addresses the throttle table holds %d keys; want ≤ %d", i+1, n, cfg.Peers.TableMax)
		}
		if n := s.peers.audit.len(); n > cfg.Peers.TableMax {
			t.Fatalf("after %d addresses the audit table holds %d windows; want ≤ %d", i+1, n, cfg.Peers.TableMax)
		}
	}
	if n := s.peers.throttle.len(); n != cfg.Peers.TableMax {
		t.Errorf("after the spray the table holds %d keys; want it full at %d", n, cfg.Peers.TableMax)
	}
	last := tcpPeer("10.0.39.15", 1) // address 9,999
	if got := refusalOf(t, s.Apply(Attach{Peer: last, Role: "queen"}, 10_000)); got == nil {
		t.Errorf("the newest sprayed address is not throttled")
	}
	s2 := NewState(cfg, 0)
	s2.Apply(Attach{Peer: tcpPeer("127.0.0.2", 1), Role: "queen", Verdict: denied}, 0)
	for i := range cfg.Peers.TableMax - 1 {
		s2.Apply(Attach{Peer: tcpPeer(fmt.Sprintf("10.0.0.%d", i), 1), Role: "queen", Verdict: denied}, 1)
	}
	if got := refusalOf(t, s2.Apply(Attach{Peer: tcpPeer("127.0.0.2", 2), Role: "queen"}, 2)); got == nil {
		t.Errorf("127.0.0.2 was evicted by fewer addresses than the table holds")
	}
}

// AUTH and Tattach outcomes share the peer's keys; a blocked attempt is
// refused before its verdict counts, and an accepted AUTH does not reset
// the attach back-off.
func TestPeerAttempt(t *testing.T) {
	s := NewState(testConfig(), 0)
	p := tcpPeer("127.0.0.2", 9)
	fail := PeerAttempt{Peer: p, Label: "[cohsh-net][auth]", Failed: true, Lines: []string{"[cohsh-net][auth] reject reason=invalid-token"}}
	if r := s.Apply(fail, 0); r.Err != nil {
		t.Fatalf("first failure = %v; want nil (the caller refuses)", r.Err)
	}
	if diff := cmp.Diff(throttled(150), refusalOf(t, s.Apply(PeerAttempt{Peer: p, Label: "[cohsh-net][auth]"}, 100))); diff != "" {
		t.Errorf("attempt while blocked (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(throttled(50), refusalOf(t, s.Apply(fail, 200))); diff != "" {
		t.Errorf("failure while blocked (-want +got):\n%s", diff)
	}
	if r := s.Apply(PeerAttempt{Peer: p, Label: "[cohsh-net][auth]"}, 250); r.Err != nil {
		t.Fatalf("accepted AUTH = %v; want nil", r.Err)
	}
	if got := s.peers.throttle.get("peer=127.0.0.2"); got == nil || got.failures != 1 {
		t.Errorf("after an accepted AUTH the entry is %+v; want the failure kept", got)
	}
	s.Apply(PeerAttempt{Peer: p, Label: "nine-door: attach", Authenticated: true}, 260)
	if got := s.peers.throttle.get("peer=127.0.0.2"); got != nil {
		t.Errorf("after an authenticated Tattach the entry is %+v; want none", got)
	}
}

// In one summary window only a peer's first failure is written; the rest
// are one summary line when the window ends, on the next failure or a
// tick. Other peers' lines are written as they happen.
func TestPeerAuditSummary(t *testing.T) {
	cfg := testConfig()
	cfg.Throttle.LockoutFailures = 1 << 30 // count lines, not lockouts
	cfg.Peers.AuditWindowMs = 1000
	s := NewState(cfg, 0)
	attacker := tcpPeer("127.0.0.2", 40000)
	fail := func(p Peer, at uint64) {
		s.Apply(PeerAttempt{Peer: p, Label: "[cohsh-net][auth]", Failed: true, Lines: []string{"[cohsh-net][auth] reject reason=invalid-token" + p.Fields()}}, at)
	}
	s.Apply(LogAppend{Lines: []string{"real line"}}, 0)
	for i := range 600 {
		fail(attacker, uint64(i)) // blocked ones count too
	}
	fail(tcpPeer("127.0.0.3", 1), 5)
	want := []string{
		"real line",
		"[cohsh-net][auth] reject reason=invalid-token transport=tcp remote=127.0.0.2:40000",
		"[cohsh-net][auth] reject reason=invalid-token transport=tcp remote=127.0.0.3:1",
	}
	if diff := cmp.Diff(want, s.log); diff != "" {
		t.Fatalf("log inside the window (-want +got):\n%s", diff)
	}
	s.Apply(Tick{}, 999)
	if len(s.log) != len(want) {
		t.Fatalf("a tick inside the window wrote %q", s.log[len(want):])
	}
	s.Apply(Tick{}, 1000)
	sum := "peer failures summary peer=127.0.0.2 transport=tcp remote=127.0.0.2:40000 failures=600 suppressed=599 window_ms=1000"
	if diff := cmp.Diff(append(want, sum), s.log); diff != "" {
		t.Fatalf("log after the window's tick (-want +got):\n%s", diff)
	}
	fail(attacker, 2000) // a new window: written
	fail(attacker, 2001)
	fail(attacker, 3001) // ends the second window, opens a third
	tail := s.log[len(s.log)-3:]
	if !strings.HasPrefix(tail[0], "[cohsh-net][auth] reject") || !strings.Contains(tail[1], "failures=2 suppressed=1") || !strings.HasPrefix(tail[2], "[cohsh-net][auth] reject") {
		t.Errorf("log tail = %q; want line, summary of 2, line", tail)
	}
}

// TestPeerNoteSummary: refusals noted for a peer on many connections
// (bad 9P walk names) share its summary window and count no failure.
func TestPeerNoteSummary(t *testing.T) {
	cfg := testConfig()
	cfg.Peers.AuditWindowMs = 1000
	s := NewState(cfg, 0)
	s.Apply(LogAppend{Lines: []string{"real line"}}, 0)
	for i := range 600 { // one connection each, as a reconnecting peer does
		p := Peer{Transport: "9p", Remote: "127.0.0.2:" + strconv.Itoa(40000+i)}
		s.Apply(PeerNote{Peer: p, Lines: []string{"nine-door: walk refused reason=invalid-name" + p.Fields()}}, uint64(i))
	}
	if len(s.log) != 2 || s.log[0] != "real line" {
		t.Fatalf("log inside the window = %q; want the real line and one refusal", s.log)
	}
	s.Apply(Tick{}, 1000)
	if last := s.log[len(s.log)-1]; !strings.HasPrefix(last, "peer failures summary peer=127.0.0.2 transport=9p") || !strings.Contains(last, "failures=600 suppressed=599") {
		t.Errorf("summary line = %q", last)
	}
	if b, blocked := s.peerBlocked(peerKeys(Peer{Transport: "9p", Remote: "127.0.0.2:1"}, ""), 1000); blocked {
		t.Errorf("notes blocked the peer: %+v", b)
	}
}

// The serial line is one peer and its failures are all written.
func TestSerialPeer(t *testing.T) {
	s := NewState(testConfig(), 0)
	serial := Peer{Transport: "serial"}
	s.Apply(Attach{Peer: serial, Role: "bogus", Verdict: denied}, 0)
	s.Apply(Attach{Peer: serial, Role: "queen"}, 10)
	want := []string{"attach denied role=bogus reason=policy detail=denied transport=serial", "attach throttled (240 ms) peer=serial transport=serial"}
	if diff := cmp.Diff(want, s.log); diff != "" {
		t.Errorf("serial log (-want +got):\n%s", diff)
	}
}

// TestForwardedPeer: a peer a trusted forwarder attached for is throttled
// by the client's IP and its lines name both addresses (DECISIONS P48).
func TestForwardedPeer(t *testing.T) {
	p := Peer{Transport: "9p", Remote: "127.0.0.1:5000", Via: "[::ffff:192.0.2.7]:443"}
	if got := p.Addr(); got != "192.0.2.7" {
		t.Errorf("Addr() = %q; want the forwarded client's IP 192.0.2.7", got)
	}
	p.Via = "192.0.2.7:443"
	if got, want := p.Fields(), " transport=9p remote=127.0.0.1:5000 via=192.0.2.7:443"; got != want {
		t.Errorf("Fields() = %q; want %q", got, want)
	}
	if got := peerKeys(p, ""); len(got) != 1 || got[0] != "peer=192.0.2.7" {
		t.Errorf("peerKeys = %v; want the client's key alone", got)
	}
	direct := Peer{Transport: "9p", Remote: "127.0.0.1:5000"}
	if direct.Addr() != "127.0.0.1" || direct.Fields() != " transport=9p remote=127.0.0.1:5000" {
		t.Errorf("a direct peer changed: %q %q", direct.Addr(), direct.Fields())
	}
}
