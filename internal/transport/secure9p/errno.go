package secure9p

import (
	"errors"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/errs"
)

// Errno maps a refusal to the errno an Rlerror carries (DECISIONS D2).
// It is the only place the 9P transport translates errors; an error of no
// known class becomes EIO, never its text.
func Errno(err error) linux.Errno {
	var e linux.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e
	case errors.Is(err, errs.ErrPermission):
		return linux.EPERM
	case errors.Is(err, errs.ErrNotFound):
		return linux.ENOENT
	case errors.Is(err, errs.ErrBusy):
		return linux.EBUSY
	case errors.Is(err, errs.ErrInvalid):
		return linux.EINVAL
	case errors.Is(err, errs.ErrTooBig):
		return linux.EMSGSIZE
	case errors.Is(err, errs.ErrQuota):
		return linux.EDQUOT
	case errors.Is(err, errs.ErrCut):
		return linux.EHOSTUNREACH
	case errors.Is(err, errs.ErrClosed):
		return linux.EBADF
	}
	return linux.EIO
}
