package queen

import "github.com/cohesix/cohesix/internal/ns"

// WhoOf is the identity a namespace caller gives, as the queen records
// it: providers stamp their commands with it.
func WhoOf(c ns.Caller) Who {
	id := c.Identity()
	return Who{Role: id.Role, Subject: id.Subject, Ticket: id.Ticket, Peer: Peer{Transport: id.Transport, Remote: id.Remote, Via: id.Via}}
}
