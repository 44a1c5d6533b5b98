package main

import (
	"context"
	"net"

	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/transport/secure9p"
	"github.com/cohesix/cohesix/roottask/platform"
)

// serve9P serves Secure9P on l through the hive's door until ctx ends
// (nil) or l fails for good (the accept error).
func serve9P(ctx context.Context, p platform.Platform, h *hive.Hive, l net.Listener) error {
	return secure9p.NewServerOn(h.Door(), secure9p.DefaultConfig()).Serve(ctx, l)
}
