//go:build !cohesix_sel4

package main

import (
	"github.com/cohesix/cohesix/roottask/platform"
	"github.com/cohesix/cohesix/roottask/platform/hosted"
)

// newPlatform is the hosted platform: host sockets, the process's stdio.
func newPlatform() platform.Platform { return hosted.Platform{} }
