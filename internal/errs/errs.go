// Package errs is the refusal taxonomy shared by the queen, the namespace
// and every transport. Each sentinel is one class of refusal; transports map
// a class once (console: reason= words, 9P: errnos per DECISIONS D2).
package errs

import (
	"errors"
	"fmt"
)

// The refusal classes. Check with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrPermission = errors.New("permission denied")
	ErrBusy       = errors.New("busy")
	ErrInvalid    = errors.New("invalid")
	ErrTooBig     = errors.New("too big")
	ErrQuota      = errors.New("quota exceeded")
	ErrCut        = errors.New("root unreachable")
	ErrClosed     = errors.New("closed")
)

// Error is a refusal of one class with the spec's message text, which is
// what operators see (e.g. "path /proc/x not found").
type Error struct {
	Class error
	Msg   string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Class }

// New returns a refusal of class with a formatted spec message.
func New(class error, format string, args ...any) error {
	return &Error{Class: class, Msg: fmt.Sprintf(format, args...)}
}

// Message returns the spec text of err: the Msg of an *Error, or err's text.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}
