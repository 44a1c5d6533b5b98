package gate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

const nowMs = 1_000_000

// newDoor is a door over a running queen whose tickets are judged at
// nowMs; tickets lists the configured secrets.
func newDoor(t *testing.T, tickets ...generated.TicketsEntry) (*Door, *queen.Queen) {
	t.Helper()
	qcfg := queen.Default()
	qcfg.InitialState, qcfg.AutoOnline = "BOOTING", "ONLINE"
	clock := fixedClock{time.UnixMilli(nowMs)}
	q := queen.New(qcfg, clock, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.Run(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	ns := New(q, DefaultConfig(), []byte("boot\n"), nil)
	d := NewDoor(ns, DoorConfig{Tickets: tickets, Limits: ticket.DefaultLimits(), Now: clock.Now})
	if _, err := q.Do(context.Background(), queen.LogAppend{}); err != nil { // barrier: boot is complete
		t.Fatal(err)
	}
	return d, q
}

func mint(t *testing.T, c ticket.Claims, secret string) string {
	t.Helper()
	tok, err := ticket.Mint(c, secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVerifyTicket: every configured secret of a role verifies its
// tickets, on every transport (P45); a role with no secret verifies none;
// a ticket of another role, stale or oversized claims are told apart.
func TestVerifyTicket(t *testing.T) {
	d, _ := newDoor(t,
		generated.TicketsEntry{Role: "queen", Secret: "queen-old"},
		generated.TicketsEntry{Role: "queen", Secret: "queen-new"},
		generated.TicketsEntry{Role: "worker-heartbeat", Secret: "hb"})
	queenClaims := ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: nowMs}
	ttl := uint64(1)
	cases := []struct {
		name   string
		token  string
		role   ticket.Role
		verify Failure
		check  Failure
	}{
		{"first secret", mint(t, queenClaims, "queen-old"), ticket.RoleQueen, Passed, Passed},
		{"second secret", mint(t, queenClaims, "queen-new"), ticket.RoleQueen, Passed, Passed},
		{"unknown secret", mint(t, queenClaims, "guess"), ticket.RoleQueen, Forged, Passed},
		{"role without secret", mint(t, ticket.Claims{Role: ticket.RoleWorkerGPU, Subject: "worker-1", IssuedAtMs: nowMs}, ""), ticket.RoleWorkerGPU, Forged, Passed},
		{"not a token", "cohesix-ticket-x", ticket.RoleQueen, Forged, Passed},
		{"queen ticket under the worker secret", mint(t, queenClaims, "hb"), ticket.RoleWorkerHeartbeat, WrongRole, Passed},
		{"expired", mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: nowMs - 5000, TTLs: &ttl}, "queen-new"), ticket.RoleQueen, Passed, Expired},
		{"from the future", mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: nowMs + 10*d.Limits().ClockSkewMs}, "queen-new"), ticket.RoleQueen, Passed, NotYetValid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := d.VerifyTicket(tc.token, tc.role)
			if v.Fail != tc.verify {
				t.Fatalf("VerifyTicket = %d (%v), want %d", v.Fail, v.Err, tc.verify)
			}
			if v.Fail != Passed {
				return
			}
			c := d.CheckClaims(v.Claims, tc.token)
			if c.Fail != tc.check {
				t.Fatalf("CheckClaims = %d (%v), want %d", c.Fail, c.Err, tc.check)
			}
			if (c.Fail != Passed) != (c.Audit != "") {
				t.Errorf("audit line %q for failure %d", c.Audit, c.Fail)
			}
		})
	}
}

// TestOneStepRequestsChargeBeforeTheRole: a listing the role refuses still
// spends the ticket's rate (P44), while a 9P-style walk is refused before
// any ticket request is spent.
func TestOneStepRequestsChargeBeforeTheRole(t *testing.T) {
	d, q := newDoor(t, generated.TicketsEntry{Role: "worker-heartbeat", Secret: "hb"})
	claims := ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-9", IssuedAtMs: nowMs,
		Scopes: []ticket.Scope{{Path: "/", Verb: ticket.VerbRead, RatePerS: 2}}}
	tok := mint(t, claims, "hb")
	s := d.Begin(ticket.RoleWorkerHeartbeat, claims, tok, queen.Peer{Transport: "tcp"}, nil)
	for i := range 2 {
		if _, err := d.List(s, "/queen"); !errors.Is(err, errs.ErrPermission) {
			t.Fatalf("list %d = %v, want the role's refusal", i, err)
		}
	}
	_, err := d.List(s, "/queen")
	if d, ok := AsTicketDenial(err); !ok || !d.Quota() {
		t.Fatalf("third list = %v, want the ticket's rate refusal", err)
	}
	root, err := d.Root(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Walk("queen"); !errors.Is(err, errs.ErrPermission) {
		t.Fatalf("walk /queen = %v, want the role's refusal", err)
	}
	if log := q.Snapshot().Log; !slices.ContainsFunc(log, func(l string) bool { return strings.Contains(l, "reason=rate") }) {
		t.Errorf("no rate audit line in %q", log)
	}
}

// TestWalkAndOpenAgree: a handle walked name by name and one opened by
// path reach the same canonical node, binds applied.
func TestWalkAndOpenAgree(t *testing.T) {
	d, _ := newDoor(t)
	s := d.Begin(ticket.RoleQueen, ticket.Claims{Role: ticket.RoleQueen}, "", queen.Peer{Transport: "serial"}, nil)
	opened, err := d.Open(s, "/proc/boot", OpRead)
	if err != nil {
		t.Fatal(err)
	}
	h, err := d.Root(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"proc", "boot"} {
		if h, err = h.Walk(name); err != nil {
			t.Fatal(err)
		}
	}
	if h.Path() != opened.Path() || h.Kind() != opened.Kind() {
		t.Fatalf("walked %s kind %d, opened %s kind %d", h.Path(), h.Kind(), opened.Path(), opened.Kind())
	}
	a, err := opened.ReadAll(true)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, err := h.ReadAt(b, 0)
	if err != nil || string(b[:n]) != string(a) || string(a) != "boot\n" {
		t.Fatalf("ReadAt = %q, %v; ReadAll = %q", b[:n], err, a)
	}
	if _, err := d.Open(s, "/proc/../queen", OpRead); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("open with .. = %v, want invalid path", err)
	}
}

// TestVerifyTicketWithoutEntropy: on a platform with no entropy source
// every ticket is refused, a good one too, with an audit line naming the
// reason and no claims (DECISIONS P73).
func TestVerifyTicketWithoutEntropy(t *testing.T) {
	d, _ := newDoor(t, generated.TicketsEntry{Role: "queen", Secret: "queen-new"})
	why := errors.New("no entropy source: no virtio-rng device")
	d.cfg.NoEntropy = why
	tok := mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: nowMs}, "queen-new")
	v := d.VerifyTicket(tok, ticket.RoleQueen)
	if v.Fail != NoEntropy || v.Err != why || v.Claims.IssuedAtMs != 0 {
		t.Fatalf("VerifyTicket = %+v; want NoEntropy, %v, no claims", v, why)
	}
	if !strings.HasPrefix(v.Audit, "ui-ticket outcome=deny reason=no-entropy role=queen ticket=cohesix-ticket-") {
		t.Errorf("audit = %q", v.Audit)
	}
	if d.NoEntropy() != why {
		t.Errorf("NoEntropy() = %v", d.NoEntropy())
	}
}
