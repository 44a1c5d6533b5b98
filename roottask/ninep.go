package main

import (
	"context"
	"net"

	"github.com/cohesix/cohesix/internal/hive"
)

// serve9P serves Secure9P on l.
func serve9P(ctx context.Context, h *hive.Hive, l net.Listener) {
	<-ctx.Done()
}
