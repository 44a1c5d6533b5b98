//go:build !linux

package cohfs

import (
	"context"
	"errors"

	"github.com/cohesix/cohesix/internal/nineclient"
)

// Mount is Linux-only (FUSE through go-fuse's direct mount or fusermount3).
func Mount(context.Context, *nineclient.Client, string, Config, func()) error {
	return errors.ErrUnsupported
}

// MountREST is Linux-only, as Mount is.
func MountREST(context.Context, Remote, string, Config, func()) error {
	return errors.ErrUnsupported
}
