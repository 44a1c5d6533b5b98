package provtest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps every provider package off the door and the
// transports: a provider reaches the queen through its own small
// interface and learns its caller as an ns.Caller.
func TestDependencies(t *testing.T) {
	forbidden := []string{
		"github.com/cohesix/cohesix/internal/gate",
		"github.com/cohesix/cohesix/internal/hive",
		"github.com/cohesix/cohesix/internal/transport",
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "../...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		for _, dep := range strings.Fields(deps) {
			for _, bad := range forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
