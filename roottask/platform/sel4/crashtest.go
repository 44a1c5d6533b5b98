//go:build cohesix_crashtest

package sel4

import (
	"fmt"
	"os"
	"time"
)

// A crash-test payload (never the default build): with -tags
// "cohesix_sel4 cohesix_crashtest" the root task boots as usual and, a
// second later, dereferences a nil pointer in a goroutine of its own. On
// seL4 the shim turns the VMFault at address 0 into SIGSEGV, Go's handler
// into a panic, and the serial console shows the panic message and
// traceback instead of a hung system (docs/BOOT_TRANSCRIPT.md):
//
//	TAGS="cohesix_sel4 cohesix_crashtest" scripts/cohesix-build-run.sh
func init() {
	go func() {
		time.Sleep(time.Second)
		fmt.Fprintln(os.Stderr, "crashtest: dereferencing a nil pointer in a test goroutine")
		var p *struct{ n int }
		p.n++ // nil-pointer dereference: SIGSEGV
	}()
}
