package ticket

import "testing"

func TestMatchScope(t *testing.T) {
	worker := []Scope{
		{Path: "/worker/w1", Verb: VerbReadWrite, RatePerS: 10},
		{Path: "/worker/w1/telemetry", Verb: VerbRead, RatePerS: 2},
		{Path: "/log", Verb: VerbRead},
	}
	tests := []struct {
		name    string
		scopes  []Scope
		path    string
		verb    Verb
		listing bool
		want    string // matched scope path; "-" for no match
	}{
		{"no scopes", nil, "/log", VerbRead, false, "-"},
		{"exact", worker, "/log", VerbRead, false, "/log"},
		{"below", worker, "/log/queen.log", VerbRead, false, "/log"},
		{"component not string prefix", worker, "/logs", VerbRead, false, "-"},
		{"component not string prefix deeper", worker, "/worker/w10/telemetry", VerbRead, false, "-"},
		{"verb denied", worker, "/log", VerbWrite, false, "-"},
		{"longest wins", worker, "/worker/w1/telemetry", VerbRead, false, "/worker/w1/telemetry"},
		{"longest wins below", worker, "/worker/w1/telemetry/x", VerbRead, false, "/worker/w1/telemetry"},
		{"longer lacks verb, shorter matches", worker, "/worker/w1/telemetry", VerbWrite, false, "/worker/w1"},
		{"read-write request needs read-write", worker, "/worker/w1/ctl", VerbReadWrite, false, "/worker/w1"},
		{"read-write request refused by read scope", worker, "/log", VerbReadWrite, false, "-"},
		{"extra slashes", worker, "//worker///w1/", VerbWrite, false, "/worker/w1"},
		{"no leading slash", worker, "log/x", VerbRead, false, "/log"},
		{"root request not listing", worker, "/", VerbRead, false, "-"},
		{"listing root", worker, "/", VerbRead, true, "/worker/w1/telemetry"},
		{"listing ancestor", worker, "/worker", VerbRead, true, "/worker/w1/telemetry"},
		{"listing ancestor write", worker, "/worker", VerbWrite, true, "/worker/w1"},
		{"listing sibling", worker, "/queen", VerbRead, true, "-"},
		{"listing below scope", worker, "/log/sub", VerbRead, true, "/log"},
		{"dotdot request", worker, "/log/../queen/ctl", VerbRead, false, "-"},
		{"dotdot scope skipped", []Scope{{Path: "/log/..", Verb: VerbRead}}, "/log", VerbRead, false, "-"},
		{"dot is a name", []Scope{{Path: "/log/.", Verb: VerbRead}}, "/log", VerbRead, false, "-"},
		{"empty scope is root", []Scope{{Path: "", Verb: VerbRead}}, "/anything/at/all", VerbRead, false, ""},
		{"slash scope is root", []Scope{{Path: "/", Verb: VerbWrite}}, "/queen/ctl", VerbWrite, false, "/"},
		{"root scope matches empty request", []Scope{{Path: "/", Verb: VerbRead}}, "", VerbRead, false, "/"},
		{"specific beats root", []Scope{{Path: "/", Verb: VerbReadWrite}, {Path: "/queen/ctl", Verb: VerbWrite}}, "/queen/ctl", VerbWrite, false, "/queen/ctl"},
		{"tie keeps first", []Scope{{Path: "/a", Verb: VerbRead, RatePerS: 1}, {Path: "a/", Verb: VerbRead, RatePerS: 2}}, "/a", VerbRead, false, "/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MatchScope(tt.scopes, tt.path, tt.verb, tt.listing)
			gotPath := got.Path
			if !ok {
				gotPath = "-"
			}
			if gotPath != tt.want {
				t.Errorf("MatchScope(%q, %v, listing=%v) = %q, %v; want %q", tt.path, tt.verb, tt.listing, got.Path, ok, tt.want)
			}
		})
	}
}

func TestRateWindow(t *testing.T) {
	type step struct {
		now  uint64
		want bool
	}
	tests := []struct {
		name   string
		rate   uint32
		window uint64
		steps  []step
	}{
		{"unlimited", 0, 1000, []step{{0, true}, {0, true}, {0, true}, {0, true}}},
		{"two per second", 2, 1000, []step{{100, true}, {200, true}, {300, false}, {1099, false}, {1100, true}, {1101, true}, {1102, false}}},
		{"window from first request", 1, 1000, []step{{5000, true}, {5999, false}, {6000, true}, {6999, false}}},
		{"idle gap", 1, 1000, []step{{0, true}, {10_000, true}, {10_001, false}}},
		{"default window", 1, 0, []step{{0, true}, {999, false}, {1000, true}}},
		{"clock backwards opens window", 1, 1000, []step{{5000, true}, {4000, true}, {4001, false}}},
		{"short window", 3, 10, []step{{0, true}, {1, true}, {2, true}, {3, false}, {10, true}}},
		{"starts at zero ms", 1, 1000, []step{{0, true}, {0, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w RateWindow
			for i, s := range tt.steps {
				if got := w.Allow(s.now, tt.rate, tt.window); got != s.want {
					t.Errorf("step %d: Allow(%d, %d, %d) = %v; want %v", i, s.now, tt.rate, tt.window, got, s.want)
				}
			}
		})
	}
}
