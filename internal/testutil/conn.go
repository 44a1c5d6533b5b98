package testutil

import (
	"errors"
	"net"
	"time"
)

// ClosedByPeer reports whether the other end closes nc within bound: a
// read ends in EOF or a reset rather than in nc's own deadline. Anything
// it sends first is read and discarded.
func ClosedByPeer(nc net.Conn, bound time.Duration) bool {
	_ = nc.SetReadDeadline(time.Now().Add(bound))
	var b [512]byte
	for {
		_, err := nc.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}
