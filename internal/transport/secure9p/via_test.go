package secure9p

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/queen"
)

// The trusted-forwarder rule (DECISIONS P48): hive-gateway attaches for
// its HTTP clients with uname via=<ip:port>; from a trusted forwarder the
// hive throttles and audits the client, from anyone else via is ignored.

const forwarderIP = "127.0.0.3"

// lockoutOnly is the manifest's queen with the back-off off, so three
// failures lock a key at once, and every refusal's line written: the
// lockout is the rule under test, not the back-off delay.
func lockoutOnly() queen.Config {
	cfg := queen.Default()
	cfg.Throttle.BackoffBaseMs = 0
	cfg.Peers.AuditWindowMs = 0
	return cfg
}

func startForwarderHive(t *testing.T) *hive {
	t.Helper()
	return startHiveQueen(t, lockoutOnly(), bootText, func(c *Config) { c.TrustedForwarders = []string{forwarderIP} })
}

// rawFrom is raw dialled from the loopback address ip, its version done.
func (h *hive) rawFrom(t *testing.T, ip string) *raw {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	nc, err := d.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := &raw{t: t, nc: nc}
	r.version(8192)
	return r
}

// attachAs is a first Tattach with uname and aname from ip; it returns
// the errno (0: attached) and the connection.
func (h *hive) attachAs(t *testing.T, ip, uname, aname string) (uint32, *raw) {
	t.Helper()
	r := h.rawFrom(t, ip)
	return r.call(frame(tTattach, 1, uint32(0), uint32(noFid), uname, aname, uint32(noFid))), r
}

func forgedQueenTicket(t *testing.T) string {
	t.Helper()
	tok := queenTicket(t)
	return tok[:len(tok)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(tok, "0")]
}

func blockedKeys(h *hive) []string {
	var keys []string
	for _, p := range h.q.Snapshot().Peers {
		keys = append(keys, p.Key)
	}
	return keys
}

// TestForwardedLockoutFallsOnTheClient: forged tickets a trusted forwarder
// attaches for client A lock A out, and only A: another client through the
// same forwarder and the forwarder's own direct attach still succeed, and
// every line of the forwarded session names both addresses.
func TestForwardedLockoutFallsOnTheClient(t *testing.T) {
	h := startForwarderHive(t)
	forged := forgedQueenTicket(t)
	for i := range 3 {
		if e, _ := h.attachAs(t, forwarderIP, "via=192.0.2.7:4000"+string(rune('1'+i)), forged); e != uint32(linux.EPERM) {
			t.Fatalf("forged attach %d for 192.0.2.7: errno %d; want EPERM", i+1, e)
		}
	}
	if e, _ := h.attachAs(t, forwarderIP, "via=192.0.2.7:40009", queenTicket(t)); e != uint32(linux.EAGAIN) {
		t.Errorf("genuine attach for the locked client: errno %d; want EAGAIN", e)
	}
	e, other := h.attachAs(t, forwarderIP, "via=198.51.100.9:5000", queenTicket(t))
	if e != 0 {
		t.Fatalf("attach for another client through the same forwarder: errno %d; want success", e)
	}
	if e, _ := h.attachAs(t, forwarderIP, "", queenTicket(t)); e != 0 {
		t.Errorf("the forwarder's own direct attach: errno %d; want success", e)
	}
	if got := blockedKeys(h); !slices.Equal(got, []string{"peer=192.0.2.7"}) {
		t.Errorf("blocked keys = %v; want peer=192.0.2.7 alone (not the forwarder)", got)
	}
	otherRemote := other.nc.LocalAddr().String()
	log := h.logText()
	for _, want := range []string{
		"nine-door: attach denied role=queen reason=ticket-rejected transport=9p remote=" + forwarderIP + ":",
		" via=192.0.2.7:40001",
		"nine-door: attach rate limited: peer=192.0.2.7 failures=3",
		"nine-door: attach rate-limited peer=192.0.2.7 ",
		"ticket=cohesix-ticket-… transport=9p remote=" + otherRemote + " via=198.51.100.9:5000",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("queen.log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "peer="+forwarderIP) {
		t.Errorf("a forwarded failure counted against the forwarder:\n%s", log)
	}
	// A line the session's command causes (a spawn through /queen/ctl)
	// names the client too.
	for _, f := range [][]byte{
		frame(tTwalk, 2, uint32(0), uint32(1), uint16(2), "queen", "ctl"),
		frame(tTlopen, 3, uint32(1), uint32(1)),
		frame(tTwrite, 4, uint32(1), uint64(0), []byte(ctlWrite(`{"spawn":"heartbeat","ticks":5}`+"\n"))),
	} {
		if e := other.call(f); e != 0 {
			t.Fatalf("spawn through the forwarded session: errno %d", e)
		}
	}
	if want := "remote=" + otherRemote + " via=198.51.100.9:5000"; !h.logEventually("spawn worker=worker-1") || strings.Count(h.logText(), want) < 2 {
		t.Errorf("the session's lines do not all name the forwarded client (%q):\n%s", want, h.logText())
	}
}

// ctlWrite is a Twrite's count and data.
func ctlWrite(data string) []byte {
	return append(le.AppendUint32(nil, uint32(len(data))), data...)
}

// TestUntrustedViaIgnored: a via from a peer that is not a trusted
// forwarder does not move the throttle: the peer's own address is counted
// and locked, and the via is audited as ignored.
func TestUntrustedViaIgnored(t *testing.T) {
	h := startForwarderHive(t)
	forged := forgedQueenTicket(t)
	for i := range 3 {
		if e, _ := h.attachAs(t, "127.0.0.4", "via=192.0.2.7:1", forged); e != uint32(linux.EPERM) {
			t.Fatalf("forged attach %d: errno %d; want EPERM", i+1, e)
		}
	}
	if e, _ := h.attachAs(t, "127.0.0.4", "via=192.0.2.8:1", queenTicket(t)); e != uint32(linux.EAGAIN) {
		t.Errorf("attach naming a fresh via from the locked peer: errno %d; want EAGAIN", e)
	}
	if got := blockedKeys(h); !slices.Equal(got, []string{"peer=127.0.0.4"}) {
		t.Errorf("blocked keys = %v; want peer=127.0.0.4 alone", got)
	}
	log := h.logText()
	if want := "nine-door: attach via ignored reason=untrusted-forwarder via=192.0.2.7:1 transport=9p remote=127.0.0.4:"; !strings.Contains(log, want) {
		t.Errorf("queen.log lacks %q:\n%s", want, log)
	}
	if strings.Contains(log, "peer=192.0.2.7") || strings.Contains(log, " via=192.0.2.7:1\n") {
		t.Errorf("an untrusted via was honoured:\n%s", log)
	}
}

// TestUntrustedViaEscaped: an ignored via is written once, escaped, after
// the attach it came with; it can neither end the line nor add a field.
func TestUntrustedViaEscaped(t *testing.T) {
	h := startForwarderHive(t)
	via := "via=1.2.3.4:5\r\nnine-door: attach role=queen \x1b[2J"
	if e, _ := h.attachAs(t, "127.0.0.5", via, queenTicket(t)); e != 0 {
		t.Fatalf("genuine attach with an advisory via: errno %d; want success", e)
	}
	log := h.logText()
	want := `nine-door: attach via ignored reason=untrusted-forwarder via=1.2.3.4:5\r\nnine-door:\x20attach\x20role=queen\x20\x1b[2J transport=9p remote=127.0.0.5:`
	if strings.Count(log, want) != 1 {
		t.Errorf("queen.log has %q %d times; want once:\n%s", want, strings.Count(log, want), log)
	}
	for _, l := range h.q.Snapshot().Log {
		if strings.HasPrefix(l, "nine-door: attach role=queen \x1b") || strings.ContainsAny(l, "\r\n\x1b") {
			t.Errorf("a forged line or a control byte reached the log: %q", l)
		}
	}
}

// TestTrustedForwarderBadVia: from a trusted forwarder a via that is not
// an ip:port is a refused attach (EINVAL, audited, escaped), not a guess:
// nothing is throttled, and the forwarder attaches right after.
func TestTrustedForwarderBadVia(t *testing.T) {
	h := startForwarderHive(t)
	for _, via := range []string{"via=1.2.3.4:5\x1b[2J", "via=not-an-address", "via=192.0.2.7", "via=[fe80::1%eth0]:80", "via="} {
		if e, _ := h.attachAs(t, forwarderIP, via, queenTicket(t)); e != uint32(linux.EINVAL) {
			t.Errorf("attach with uname %q: errno %d; want EINVAL", via, e)
		}
	}
	if got := blockedKeys(h); len(got) != 0 {
		t.Errorf("blocked keys = %v; want none", got)
	}
	log := h.logText()
	for _, want := range []string{
		`nine-door: attach denied role=none reason=invalid-via via=1.2.3.4:5\x1b[2J transport=9p remote=` + forwarderIP + ":",
		"nine-door: attach denied role=none reason=invalid-via via=not-an-address transport=9p",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("queen.log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "\x1b") {
		t.Errorf("a control byte reached the log:\n%s", log)
	}
	if e, _ := h.attachAs(t, forwarderIP, "via=[2001:db8::1]:443", queenTicket(t)); e != 0 {
		t.Errorf("attach for an IPv6 client: errno %d; want success", e)
	}
	if !strings.Contains(h.logText(), " via=[2001:db8::1]:443") {
		t.Errorf("the IPv6 client is not named:\n%s", h.logText())
	}
}

// FuzzParseVia: whatever a forwarder sends after via=, an accepted address
// is canonical (it parses back to itself) and holds only address bytes,
// and the escaped form of any value is one field of one line.
func FuzzParseVia(f *testing.F) {
	for _, s := range []string{"192.0.2.7:443", "[2001:db8::1]:80", "[::ffff:10.0.0.1]:1", "[fe80::1%eth0]:80",
		"1.2.3.4:5\r\nnine-door: attach role=queen", "1.2.3.4", "", "\x1b[2J", "[::1]:99999", "01.2.3.4:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if via, ok := parseVia(raw); ok {
			if again, ok2 := parseVia(via); !ok2 || again != via {
				t.Fatalf("parseVia(%q) = %q, which parses as %q, %v", raw, via, again, ok2)
			}
			if strings.Trim(via, "0123456789abcdef.:[]") != "" {
				t.Fatalf("parseVia(%q) = %q holds a byte that is not an address byte", raw, via)
			}
		}
		if f := viaField(raw); strings.ContainsAny(f, " \r\n\t\x00\x1b") {
			t.Fatalf("viaField(%q) = %q could end the line or add a field", raw, f)
		}
	})
}
