package consoleserver

import (
	"fmt"

	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

// end closes the console's session, if any, with reason (quit, eof,
// error, inactivity-timeout); the queen records it in /proc/9p/session and
// in root reachability.
func (c *Session) end(reason string) {
	if c.sess != nil {
		c.srv.door.End(c.sess, reason)
		c.sess = nil
	}
}

// rootCut refuses a worker's authority verb while the root is cut (spec
// console §5, roadmap 21e): ERR <LABEL> reason=cut detail=root-unreachable,
// the security.md audit line and the cut counter.
func (c *Session) rootCut(label string, out *[]string) bool {
	if c.sess == nil || c.sess.Role == ticket.RoleQueen {
		return false
	}
	root := c.srv.q.Snapshot().Gov.Root
	if root.Reachable {
		return false
	}
	a := console.Refusal(label, console.ReasonCut, console.DetailRootUnreachable)
	c.refused(a, fmt.Sprintf("worker command denied: root unreachable role=%s subject=%s cut_reason=%s", c.sess.Role, c.sess.Subject, root.CutReason))
	*out = append(*out, a.Render(c.srv.lim))
	return true
}
