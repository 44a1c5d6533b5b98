package procfs

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps /proc a provider: it reaches the queen through
// its own small interface and knows no door or transport.
func TestDependencies(t *testing.T) {
	forbidden := map[string]string{
		"github.com/cohesix/cohesix/internal/gate":                    "the door mounts providers, not the reverse",
		"github.com/cohesix/cohesix/internal/hive":                    "hive wires; providers do not reach it",
		"github.com/cohesix/cohesix/internal/transport/consoleserver": "transports update the counters, providers only read them",
		"github.com/cohesix/cohesix/internal/transport/secure9p":      "transports update the counters, providers only read them",
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if why, bad := forbidden[dep]; bad {
			t.Errorf("internal/prov/procfs depends on %s: %s", dep, why)
		}
	}
}
