package ticket

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cohesix/cohesix/generated"
)

func TestExpired(t *testing.T) {
	const issued = 1_700_000_000_000
	tests := []struct {
		name string
		c    Claims
		now  uint64
		want bool
	}{
		{"no ttl", Claims{IssuedAtMs: issued}, math.MaxUint64, false},
		{"before issue", Claims{IssuedAtMs: issued, TTLs: u64(300)}, 0, false},
		{"at issue", Claims{IssuedAtMs: issued, TTLs: u64(300)}, issued, false},
		{"one ms before deadline", Claims{IssuedAtMs: issued, TTLs: u64(300)}, issued + 299_999, false},
		{"at deadline", Claims{IssuedAtMs: issued, TTLs: u64(300)}, issued + 300_000, true},
		{"after deadline", Claims{IssuedAtMs: issued, TTLs: u64(300)}, issued + 300_001, true},
		{"ttl 0 at issue", Claims{IssuedAtMs: issued, TTLs: u64(0)}, issued, true},
		{"ttl 0 before issue", Claims{IssuedAtMs: issued, TTLs: u64(0)}, issued - 1, false},
		{"ttl overflows multiply", Claims{IssuedAtMs: 0, TTLs: u64(math.MaxUint64 / 999)}, math.MaxUint64 - 1, false},
		{"ttl overflows add", Claims{IssuedAtMs: math.MaxUint64 - 999, TTLs: u64(1)}, math.MaxUint64 - 1, false},
		{"saturated deadline reached", Claims{IssuedAtMs: math.MaxUint64, TTLs: u64(math.MaxUint64)}, math.MaxUint64, true},
		{"largest exact deadline", Claims{IssuedAtMs: math.MaxUint64 - 1000, TTLs: u64(1)}, math.MaxUint64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Expired(tt.now); got != tt.want {
				t.Errorf("Expired(%d) = %v; want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestCheckLimits(t *testing.T) {
	def := DefaultLimits()
	scopes := func(n int) []Scope {
		s := make([]Scope, n)
		for i := range s {
			s[i] = Scope{Path: "/log", Verb: VerbRead}
		}
		return s
	}
	tests := []struct {
		name    string
		c       Claims
		lim     Limits
		want    error
		wantMsg string
	}{
		{"no scopes no quotas", Claims{}, def, nil, ""},
		{"zero limits no scopes", Claims{}, Limits{}, nil, ""},
		{"8 scopes", Claims{Scopes: scopes(8)}, def, nil, ""},
		{"9 scopes", Claims{Scopes: scopes(9)}, def, ErrInvalidClaims,
			"ticket: invalid claims: 9 scopes exceed max_scopes 8"},
		{"max_scopes 0", Claims{Scopes: scopes(1)}, Limits{MaxScopePathLen: 128}, ErrInvalidClaims,
			"ticket: invalid claims: 1 scopes exceed max_scopes 0"},
		{"path 128 bytes", Claims{Scopes: []Scope{{Path: "/" + strings.Repeat("p", 127)}}}, def, nil, ""},
		{"path 129 bytes", Claims{Scopes: []Scope{{Path: "/log"}, {Path: "/" + strings.Repeat("p", 128)}}}, def, ErrInvalidClaims,
			"ticket: invalid claims: scope 1 path is 129 bytes, exceeds max_scope_path_len 128"},
		{"root path with path len 0", Claims{Scopes: []Scope{{Path: ""}}}, Limits{MaxScopes: 1}, nil, ""},
		{"dotdot path", Claims{Scopes: []Scope{{Path: "/log/../queen"}}}, def, ErrInvalidClaims,
			`ticket: invalid claims: scope 0 path has a ".." component`},
		{"bad verb", Claims{Scopes: []Scope{{Path: "/log", Verb: 7}}}, def, ErrInvalidClaims,
			"ticket: invalid claims: scope 0 verb 7"},
		{"rate 64", Claims{Scopes: []Scope{{Path: "/log", RatePerS: 64}}}, def, nil, ""},
		{"rate 65", Claims{Scopes: []Scope{{Path: "/log", RatePerS: 65}}}, def, ErrInvalidClaims,
			"ticket: invalid claims: scope 0 rate_per_s 65 exceeds max_scope_rate_per_s 64"},
		{"rate 0 unlimited passes", Claims{Scopes: []Scope{{Path: "/log", RatePerS: 0}}}, def, nil, ""},
		{"rate cap 0 unlimited", Claims{Scopes: []Scope{{Path: "/log", RatePerS: math.MaxUint32}}},
			Limits{MaxScopes: 1, MaxScopePathLen: 8}, nil, ""},
		{"bandwidth at cap", Claims{Quotas: Quotas{BandwidthBytes: 131072}}, def, nil, ""},
		{"bandwidth over cap", Claims{Quotas: Quotas{BandwidthBytes: 131073}}, def, ErrInvalidClaims,
			"ticket: invalid claims: bandwidth_bytes 131073 exceeds bandwidth_bytes 131072"},
		{"bandwidth cap 0", Claims{Quotas: Quotas{BandwidthBytes: math.MaxUint64}}, Limits{}, nil, ""},
		{"cursor_resumes over cap", Claims{Quotas: Quotas{CursorResumes: 17}}, def, ErrInvalidClaims,
			"ticket: invalid claims: cursor_resumes 17 exceeds cursor_resumes 16"},
		{"cursor_resumes cap 0", Claims{Quotas: Quotas{CursorResumes: 17}}, Limits{}, nil, ""},
		{"cursor_advances over cap", Claims{Quotas: Quotas{CursorAdvances: 257}}, def, ErrInvalidClaims,
			"ticket: invalid claims: cursor_advances 257 exceeds cursor_advances 256"},
		{"cursor_advances at cap", Claims{Quotas: Quotas{CursorAdvances: 256}}, def, nil, ""},
		{"negative limits act as 0", Claims{Scopes: scopes(1)}, Limits{MaxScopes: -1}, ErrInvalidClaims,
			"ticket: invalid claims: 1 scopes exceed max_scopes 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLimits(tt.c, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckLimits(%s) = %v; want %v", tt.name, err, tt.want)
			}
			if err != nil && err.Error() != tt.wantMsg {
				t.Errorf("CheckLimits(%s) = %q; want %q", tt.name, err, tt.wantMsg)
			}
		})
	}
}

func TestEffectiveQuotas(t *testing.T) {
	def := DefaultLimits()
	tests := []struct {
		name string
		lim  Limits
		q    Quotas
		want Quotas
	}{
		{"absent takes caps", def, Quotas{}, Quotas{BandwidthBytes: 131072, CursorResumes: 16, CursorAdvances: 256}},
		{"present kept", def, Quotas{BandwidthBytes: 10, CursorResumes: 1, CursorAdvances: 2}, Quotas{BandwidthBytes: 10, CursorResumes: 1, CursorAdvances: 2}},
		{"mixed", def, Quotas{CursorResumes: 3}, Quotas{BandwidthBytes: 131072, CursorResumes: 3, CursorAdvances: 256}},
		{"unlimited caps", Limits{}, Quotas{}, Quotas{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.lim.EffectiveQuotas(tt.q)); diff != "" {
				t.Errorf("EffectiveQuotas(%+v) mismatch (-want +got):\n%s", tt.q, diff)
			}
		})
	}
}

func TestCheckTime(t *testing.T) {
	const now, skew = 1_700_000_000_000, 30_000
	tests := []struct {
		name string
		c    Claims
		now  uint64
		want error
	}{
		{"issued now", Claims{IssuedAtMs: now}, now, nil},
		{"issued in the past", Claims{IssuedAtMs: 0}, now, nil},
		{"issued at now+skew", Claims{IssuedAtMs: now + skew}, now, nil},
		{"issued at now+skew+1", Claims{IssuedAtMs: now + skew + 1}, now, ErrNotYetValid},
		{"issued 27 h ahead", Claims{IssuedAtMs: now + 27*3600*1000, TTLs: u64(3)}, now, ErrNotYetValid},
		{"future and long ttl", Claims{IssuedAtMs: now + skew + 1, TTLs: u64(math.MaxUint64)}, now, ErrNotYetValid},
		{"skew does not stretch expiry", Claims{IssuedAtMs: now - 3000, TTLs: u64(3)}, now, ErrExpired},
		{"one ms before expiry", Claims{IssuedAtMs: now - 2999, TTLs: u64(3)}, now, nil},
		{"now near max", Claims{IssuedAtMs: math.MaxUint64}, math.MaxUint64 - 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.CheckTime(tt.now, skew)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckTime = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestTimeDenialAudit(t *testing.T) {
	const now, skew = 1_700_000_000_000, 30_000
	future := Claims{Role: RoleWorkerHeartbeat, IssuedAtMs: now + skew + 1}
	got := TimeDenialAudit(future.CheckTime(now, skew), future, "cohesix-ticket-…", now, skew)
	want := "ui-ticket outcome=deny reason=not-yet-valid role=worker-heartbeat ticket=cohesix-ticket-… issued_at_ms=1700000030001 now_ms=1700000000000 skew_ms=30000"
	if got != want {
		t.Errorf("not-yet-valid audit = %q; want %q", got, want)
	}
	old := Claims{Role: RoleQueen, IssuedAtMs: now - 5000, TTLs: u64(1)}
	got = TimeDenialAudit(old.CheckTime(now, skew), old, "m", now, skew)
	want = "ui-ticket outcome=deny reason=expired role=queen ticket=m issued_at_ms=1699999995000 ttl_s=1 now_ms=1700000000000"
	if got != want {
		t.Errorf("expired audit = %q; want %q", got, want)
	}
	for err, want := range map[error]string{future.CheckTime(now, skew): "not-yet-valid", old.CheckTime(now, skew): "expired", ErrInvalidClaims: ""} {
		if got := TimeDenialReason(err); got != want {
			t.Errorf("TimeDenialReason(%v) = %q; want %q", err, got, want)
		}
	}
	if got := TimeDenialAudit(ErrInvalidClaims, old, "m", now, skew); got != "" {
		t.Errorf("audit for another error = %q; want empty", got)
	}
}

func TestDefaultLimitsSkew(t *testing.T) {
	if got := DefaultLimits().ClockSkewMs; got != generated.TicketLimitsClockSkewMs {
		t.Errorf("DefaultLimits().ClockSkewMs = %d; want the manifest's %d", got, generated.TicketLimitsClockSkewMs)
	}
}
