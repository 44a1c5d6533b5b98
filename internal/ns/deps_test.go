package ns

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the core a leaf: the queen, the ticket codec and
// the GPU schema import the grammar, and transports import the core.
func TestDependencies(t *testing.T) {
	forbidden := map[string]string{
		"net": "transports live elsewhere",
		"github.com/cohesix/cohesix/internal/queen":  "providers reach the queen, the core does not",
		"github.com/cohesix/cohesix/internal/gate":   "the door builds on the core, not the reverse",
		"github.com/cohesix/cohesix/internal/ticket": "callers arrive as ns.Caller",
		"github.com/cohesix/cohesix/internal/gpu":    "the GPU schema imports the grammar",
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if why, bad := forbidden[dep]; bad {
			t.Errorf("internal/ns depends on %s: %s", dep, why)
		}
	}
}
