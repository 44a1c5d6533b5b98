//go:build cohesix_sel4

package main

import (
	"context"
	"io"

	"github.com/cohesix/cohesix/roottask/platform"
	"github.com/cohesix/cohesix/roottask/platform/sel4"
)

// newPlatform is the seL4 platform (payload built with -tags cohesix_sel4
// by scripts/sel4-payload.sh for the shim).
func newPlatform() platform.Platform { return sel4.Platform{} }

// governProcs does nothing on seL4: the shim runs the Go runtime on one
// core.
func governProcs(context.Context, io.Writer) {}
