package main

import "testing"

func TestSplice(t *testing.T) {
	snips := map[string][]byte{"limits.md": []byte("| a | 1 |\n")}
	for _, tc := range []struct {
		name, in, want string
		found          bool
	}{
		{"empty region filled", "x\n<!-- coh-rtc:limits:start -->\n<!-- coh-rtc:limits:end -->\ny\n",
			"x\n<!-- coh-rtc:limits:start -->\n| a | 1 |\n<!-- coh-rtc:limits:end -->\ny\n", true},
		{"stale region replaced", "<!-- coh-rtc:limits:start -->\n| a | 0 |\nold\n<!-- coh-rtc:limits:end -->",
			"<!-- coh-rtc:limits:start -->\n| a | 1 |\n<!-- coh-rtc:limits:end -->", true},
		{"unknown snippet left alone", "<!-- coh-rtc:nope:start -->\nkeep\n<!-- coh-rtc:nope:end -->",
			"<!-- coh-rtc:nope:start -->\nkeep\n<!-- coh-rtc:nope:end -->", false},
		{"mismatched markers left alone", "<!-- coh-rtc:limits:start -->\nkeep\n<!-- coh-rtc:other:end -->",
			"<!-- coh-rtc:limits:start -->\nkeep\n<!-- coh-rtc:other:end -->", false},
		{"no markers", "plain prose\n", "plain prose\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found := splice(tc.in, snips)
			if got != tc.want || found != tc.found {
				t.Errorf("splice(%q) = %q, %v; want %q, %v", tc.in, got, found, tc.want, tc.found)
			}
		})
	}
}
