package console

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the grammar OS-free: it must build for the seL4
// root task and every host tool alike (ARCHITECTURE rule 3).
func TestDependencies(t *testing.T) {
	forbidden := map[string]string{
		"os":      "the grammar is OS-free; callers own I/O",
		"net":     "transports live in the root task and internal/client",
		"syscall": "the grammar is OS-free",
		"time":    "limits and clocks come in as parameters",
		"github.com/cohesix/cohesix/internal/queen": "the grammar never reaches authority state",
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if why, bad := forbidden[dep]; bad {
			t.Errorf("internal/console depends on %s: %s", dep, why)
		}
	}
}
