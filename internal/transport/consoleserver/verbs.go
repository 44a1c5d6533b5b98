package consoleserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

// need is who may run a verb.
type need uint8

const (
	anyone    need = iota
	attached       // any attached role
	queenOnly      // the queen alone
)

// verb is one console verb: who may run it and what it does. run gets the
// parsed command and its ACK label and returns the lines to send.
type verb struct {
	need need
	run  func(c *Session, cmd console.Command, label string) (out []string, quit bool)
}

// verbs is the console's verb table (spec console §3-§10).
var verbs = map[console.Verb]verb{
	console.Help:     {anyone, help},
	console.BootInfo: {anyone, unavailable},
	console.Caps:     {anyone, unavailable},
	console.Mem:      {anyone, unavailable},
	console.Ping:     {anyone, ping},
	console.Test:     {anyone, hostOnly},
	console.NetTest:  {anyone, unsupported},
	console.NetStats: {anyone, unsupported},
	console.CacheLog: {anyone, unsupported},
	console.Quit:     {anyone, quit},
	console.Attach:   {anyone, attach},
	console.Log:      {queenOnly, logVerb},
	console.Tail:     {attached, func(c *Session, cmd console.Command, _ string) ([]string, bool) { return c.tail(cmd.Path), false }},
	console.Cat:      {attached, func(c *Session, cmd console.Command, _ string) ([]string, bool) { return c.cat(cmd.Path), false }},
	console.Ls:       {attached, ls},
	console.Echo:     {attached, echo},
	console.Spawn:    {queenOnly, spawn},
	console.Kill:     {queenOnly, kill},
}

func help(c *Session, _ console.Command, label string) ([]string, bool) {
	return append(append([]string(nil), console.HelpLines...), console.Success(label).Render(c.srv.lim)), false
}

// unavailable answers bi, caps and mem: the hosted platform has no seL4
// boot context to report.
func unavailable(c *Session, cmd console.Command, label string) ([]string, bool) {
	return []string{c.refuse(label, console.ReasonPolicy, console.DetailUnavailable, "console: "+string(cmd.Verb)+" unavailable")}, false
}

func ping(c *Session, _ console.Command, label string) ([]string, bool) {
	return []string{console.PingReply, console.Success(label, "reply", "pong").Render(c.srv.lim)}, false
}

func hostOnly(c *Session, _ console.Command, label string) ([]string, bool) {
	return []string{c.refuse(label, console.ReasonPolicy, console.DetailHostOnly, "console: test refused host-only")}, false
}

func unsupported(c *Session, cmd console.Command, label string) ([]string, bool) {
	return []string{c.refuse(label, console.ReasonPolicy, console.DetailUnsupported, "console: "+string(cmd.Verb)+" unsupported")}, false
}

func quit(c *Session, _ console.Command, label string) ([]string, bool) {
	if c.sess != nil {
		c.srv.q.Audit(fmt.Sprintf("console: detach role=%s%s", c.sess.Role, c.peer.Fields()))
	}
	c.end("quit")
	return []string{console.Success(label).Render(c.srv.lim)}, true
}

func attach(c *Session, cmd console.Command, _ string) ([]string, bool) {
	a, _ := c.attach(cmd)
	return []string{a.Render(c.srv.lim)}, false
}

// logVerb answers from the queen's snapshot after spending one read
// request of the session ticket on the log.
func logVerb(c *Session, _ console.Command, label string) ([]string, bool) {
	if err := c.srv.door.Charge(c.sess, generated.ClientPathsLog, ticket.VerbRead); err != nil {
		return []string{c.nsError(label, generated.ClientPathsLog, err)}, false
	}
	out := []string{console.Success(label).Render(c.srv.lim)}
	out = append(out, c.srv.q.Snapshot().Log...)
	return append(out, console.End), false
}

func ls(c *Session, cmd console.Command, label string) ([]string, bool) {
	names, err := c.srv.door.List(c.sess, cmd.Path)
	if err != nil {
		return []string{c.nsError(label, cmd.Path, err)}, false
	}
	out := []string{console.Success(label, "path", cmd.Path, "entries", strconv.Itoa(len(names))).Render(c.srv.lim)}
	out = append(out, names...)
	return append(out, console.End), false
}

// echo appends a payload. A worker's authority verb is refused while the
// root is cut; a role other than the queen may echo only to sidecar paths
// (/bus/, /lora/), which the role rule then judges.
func echo(c *Session, cmd console.Command, label string) ([]string, bool) {
	var out []string
	if c.rootCut(label, &out) { // govern.go
		return out, false
	}
	if !c.isQueen() && !strings.HasPrefix(cmd.Path, "/bus/") && !strings.HasPrefix(cmd.Path, "/lora/") {
		return []string{c.refuse(label, console.ReasonPolicy, console.DetailDenied, fmt.Sprintf("console: echo denied role=%s path=%s", c.sess.Role, cmd.Path), "path", cmd.Path, "error", console.ErrorTextEPERM)}, false
	}
	if err := c.write(cmd.Path, cmd.Payload); err != nil {
		return []string{c.nsError(label, cmd.Path, err)}, false
	}
	return []string{console.Success(label, "path", cmd.Path, "bytes", strconv.Itoa(len(cmd.Payload))).Render(c.srv.lim)}, false
}

func spawn(c *Session, cmd console.Command, label string) ([]string, bool) {
	if err := c.write(generated.ClientPathsQueenCtl, cmd.Payload); err != nil {
		return []string{c.nsError(label, generated.ClientPathsQueenCtl, err)}, false
	}
	return []string{console.Success(label, "payload", cmd.Payload).Render(c.srv.lim)}, false
}

func kill(c *Session, cmd console.Command, label string) ([]string, bool) {
	// Marshal, not concatenate: an id with quotes must not add keys.
	line, _ := json.Marshal(struct {
		Kill string `json:"kill"`
	}{cmd.WorkerID})
	if err := c.write(generated.ClientPathsQueenCtl, string(line)); err != nil {
		return []string{c.nsError(label, generated.ClientPathsQueenCtl, err)}, false
	}
	return []string{console.Success(label, "id", cmd.WorkerID).Render(c.srv.lim)}, false
}
