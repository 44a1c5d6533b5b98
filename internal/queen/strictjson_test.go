package queen

import "testing"

func TestParseCtlRefusesAmbiguousKeys(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ok         bool
	}{
		{"plain kill", `{"kill":"worker-1"}`, true},
		{"nested budget", `{"spawn":"heartbeat","ticks":3,"budget":{"ttl_s":5,"ops":2}}`, true},
		{"duplicate top-level key", `{"kill":"worker-1","kill":"worker-2"}`, false},
		{"duplicate nested key", `{"spawn":"heartbeat","ticks":3,"budget":{"ops":1,"ops":2}}`, false},
		{"upper-case key", `{"KILL":"worker-1"}`, false},
		{"mixed-case nested key", `{"bind":{"From":"/log","to":"/x"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCtl([]byte(tc.line))
			if (err == nil) != tc.ok {
				t.Errorf("ParseCtl(%s) = %v; want ok=%v", tc.line, err, tc.ok)
			}
		})
	}
}
