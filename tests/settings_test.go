package tests

import (
	"slices"
	"strings"
	"testing"
)

// TestSettingsSurviveKill drives /proc/settings through the root task's TCP
// console with --state-dir (milestone 27): an update acknowledged before
// a SIGKILL is read back after the restart, with its generation and the
// manifest binding, and a refused write in between changed nothing.
func TestSettingsSurviveKill(t *testing.T) {
	start := stateDirQueen(t, t.TempDir())
	rt, run := start()
	for _, kv := range []string{"site=lab-3", "uplink=eth0"} {
		if got := run("echo /proc/settings/set " + kv)[0]; !strings.HasPrefix(got, "OK ECHO path=/proc/settings/set") {
			t.Fatalf("set %s: %q", kv, got)
		}
	}
	if got := run("echo /proc/settings/set cohesix.manifest=forged")[0]; !strings.HasPrefix(got, "ERR ECHO") {
		t.Fatalf("reserved key: %q", got)
	}
	_ = rt.cmd.Process.Kill()
	_ = rt.cmd.Wait()

	_, run = start()
	current := run("cat /proc/settings/current")
	if !slices.Contains(current, "site=lab-3") || !slices.Contains(current, "uplink=eth0") || slices.ContainsFunc(current, func(l string) bool { return strings.Contains(l, "forged") }) {
		t.Fatalf("current after SIGKILL and restart: %q", current)
	}
	status := run("cat /proc/settings/status")
	if !slices.Contains(status, "generation=2") || !slices.Contains(status, "page=B") || !slices.Contains(status, "manifest=match") {
		t.Fatalf("status after restart: %q", status)
	}
	if log := strings.Join(run("log"), "\n"); !strings.Contains(log, "settings set refused role=queen reason=reserved key=cohesix.manifest") {
		t.Errorf("no audit line for the refused write:\n%s", log)
	}
}
