package fleetbench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRampSteps(t *testing.T) {
	for _, c := range []struct {
		name    string
		lo, hi  int
		step    string
		want    []int
		wantErr string
	}{
		{"doubling to a max off the grid", 100, 1000, "x2", []int{100, 200, 400, 800, 1000}, ""},
		{"the issue's ramp", 100, 10000, "x2", []int{100, 200, 400, 800, 1600, 3200, 6400, 10000}, ""},
		{"additive", 100, 350, "+100", []int{100, 200, 300, 350}, ""},
		{"additive without plus", 1, 3, "1", []int{1, 2, 3}, ""},
		{"one step", 8, 8, "x2", []int{8}, ""},
		{"small factor still grows", 1, 3, "x1.1", []int{1, 2, 3}, ""},
		{"min above max", 10, 5, "x2", nil, "want 1 <= min <= max"},
		{"zero min", 0, 5, "x2", nil, "want 1 <= min <= max"},
		{"factor of one", 1, 5, "x1", nil, "above 1"},
		{"bad factor", 1, 5, "xx", nil, "above 1"},
		{"zero count", 1, 5, "+0", nil, "count of workers"},
		{"words", 1, 5, "double", nil, "count of workers"},
		{"too many steps", 1, 100000, "+1", nil, "more than 1000 steps"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := RampSteps(c.lo, c.hi, c.step)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("RampSteps(%d, %d, %q) = %v, %v; want an error with %q", c.lo, c.hi, c.step, got, err, c.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("RampSteps(%d, %d, %q) = %v, %v; want %v", c.lo, c.hi, c.step, got, err, c.want)
			}
		})
	}
}

func validConfig() Config {
	return Config{Mode: ModeReopen, Steps: []int{8}, Duration: time.Minute, Knee: 5 * time.Millisecond, Interval: time.Second,
		ProbeInterval: 250 * time.Millisecond, OpTimeout: 5 * time.Second, RecordBytes: 100, Concurrency: 16}
}

func TestValidate(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("Validate(valid) = %v; want nil", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"mode", func(c *Config) { c.Mode = "sometimes" }, "want reopen or keep-open"},
		{"no steps", func(c *Config) { c.Steps = nil }, "no worker count"},
		{"zero workers", func(c *Config) { c.Steps = []int{0} }, "at least 1"},
		{"steps shrink", func(c *Config) { c.Steps = []int{4, 2} }, "steps must grow"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "--duration"},
		{"duration under an interval", func(c *Config) { c.Duration = 500 * time.Millisecond }, "shorter than one heartbeat"},
		{"zero interval", func(c *Config) { c.Interval = 0 }, "--interval"},
		{"zero probe interval", func(c *Config) { c.ProbeInterval = 0 }, "--probe-interval"},
		{"zero timeout", func(c *Config) { c.OpTimeout = 0 }, "--op-timeout"},
		{"zero knee", func(c *Config) { c.Knee = 0 }, "--p99-knee"},
		{"record too small for an id", func(c *Config) { c.RecordBytes = MinRecordBytes - 1 }, "--record-bytes"},
		{"record over one Twrite", func(c *Config) { c.RecordBytes = 1 << 20 }, "--record-bytes"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "--concurrency"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := validConfig()
			c.edit(&cfg)
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v; want an error with %q", err, c.want)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"reopen", "keep-open"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v; want it back", s, m, err)
		}
	}
	if _, err := ParseMode("keepopen"); err == nil {
		t.Errorf("ParseMode(keepopen) = nil error; want a refusal")
	}
}
