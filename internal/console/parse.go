package console

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Argument names used in parser error messages.
const (
	ArgRole    = "role"
	ArgTicket  = "ticket"
	ArgPath    = "path"
	ArgPayload = "payload" // echo payload
	ArgJSON    = "json"    // spawn payload
	ArgWorker  = "worker"  // kill worker id
	ArgCount   = "n"       // cachelog count
)

// Command is one parsed console line. Only the fields of its verb are set:
//
//	attach: Role, Ticket (optional)   tail/cat/ls: Path   echo: Path, Payload
//	spawn: Payload (JSON text)        kill: WorkerID      cachelog: N if HasN
type Command struct {
	Verb     Verb
	Role     string
	Ticket   string
	Path     string
	Payload  string
	WorkerID string
	N        int
	HasN     bool
}

// ParseError is a line the parser refused. Msg is one of the spec's messages
// and travels as "ERR PARSE reason=policy detail=<Msg>".
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

// Ack returns the refusal the server sends for e.
func (e *ParseError) Ack() Ack { return Refusal(LabelParse, ReasonPolicy, e.Msg) }

func perr(msg string) error       { return &ParseError{Msg: msg} }
func errMissing(arg string) error { return perr("missing required argument: " + arg) }
func errTooLong(arg string) error { return perr("argument " + arg + " exceeds allowed length") }
func errInvalid(arg string) error { return perr("invalid value for argument " + arg) }
func isSep(c byte) bool           { return c == ' ' || c == '\t' }
func checkLen(arg, v string, max int) error {
	if len(v) > max {
		return errTooLong(arg)
	}
	return nil
}

// Parse parses one console line (without its terminator) under lim.
//
// The line is trimmed; the first space- or tab-delimited token is the verb,
// matched case-insensitively. Arguments are separated by runs of spaces or
// tabs; echo and spawn payloads are the rest of the line, inner spacing kept.
// Arguments must be valid UTF-8 without control characters (tab is allowed
// inside payloads). A verb that takes no argument, or a line with more
// arguments than its verb takes, is refused with "invalid value for argument
// <a>", where <a> is the verb itself for verbs without arguments and the last
// argument otherwise. Lengths are bytes. Every error is a *[ParseError].
func Parse(line string, lim Limits) (Command, error) {
	if len(line) > lim.Line {
		return Command{}, perr(MsgLineTooLong)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return Command{}, perr(MsgEmptyCommand)
	}
	tok, rest := cut(line)
	verb, ok := LookupVerb(tok)
	if !ok {
		return Command{}, perr(MsgUnsupportedCommand)
	}
	c := Command{Verb: verb}
	if err := c.parseArgs(rest, lim); err != nil {
		return Command{}, err
	}
	return c, nil
}

// parseArgs sets the fields of c's verb from the rest of the line.
func (c *Command) parseArgs(rest string, lim Limits) error {
	var err error
	switch c.Verb {
	case Help, BootInfo, Caps, Mem, Ping, Test, NetTest, NetStats, Log, Quit:
		if rest != "" {
			return errInvalid(string(c.Verb))
		}
	case CacheLog:
		c.N, c.HasN, err = parseCount(rest)
	case Tail, Cat, Ls:
		c.Path, err = soleToken(ArgPath, rest, lim.Path)
	case Echo:
		p, payload := cut(rest)
		if err = argToken(ArgPath, p, "", lim.Path); err == nil {
			err = argPayload(ArgPayload, payload, lim.Echo)
		}
		c.Path, c.Payload = p, payload
	case Spawn:
		c.Payload, err = rest, argPayload(ArgJSON, rest, lim.JSON)
	case Kill:
		c.WorkerID, err = soleToken(ArgWorker, rest, lim.WorkerID)
	case Attach:
		c.Role, c.Ticket, err = parseAttach(rest, lim)
	}
	return err
}

// parseCount reads cachelog's optional count.
func parseCount(rest string) (n int, has bool, err error) {
	if rest == "" {
		return 0, false, nil
	}
	arg, more := cut(rest)
	u, err := strconv.ParseUint(arg, 10, 16)
	if err != nil || more != "" {
		return 0, false, errInvalid(ArgCount)
	}
	return int(u), true, nil
}

// soleToken reads an argument that must be the only one.
func soleToken(name, rest string, max int) (string, error) {
	v, more := cut(rest)
	return v, argToken(name, v, more, max)
}

// parseAttach reads attach's role and optional ticket.
func parseAttach(rest string, lim Limits) (role, ticket string, err error) {
	role, rest = cut(rest)
	if err := argToken(ArgRole, role, "", lim.Role); err != nil {
		return "", "", err
	}
	if rest == "" {
		return role, "", nil
	}
	ticket, more := cut(rest)
	if err := checkLen(ArgTicket, ticket, lim.Ticket); err != nil {
		return "", "", err
	}
	if more != "" || !cleanText(ticket, false) {
		return "", "", errInvalid(ArgTicket)
	}
	return role, ticket, nil
}

// argToken checks a single-token argument: present, short enough, clean and
// not followed by further tokens.
func argToken(name, v, more string, max int) error {
	if v == "" {
		return errMissing(name)
	}
	if err := checkLen(name, v, max); err != nil {
		return err
	}
	if more != "" || !cleanText(v, false) {
		return errInvalid(name)
	}
	return nil
}

func argPayload(name, v string, max int) error {
	if v == "" {
		return errMissing(name)
	}
	if err := checkLen(name, v, max); err != nil {
		return err
	}
	if !cleanText(v, true) {
		return errInvalid(name)
	}
	return nil
}

// cleanText reports whether s is valid UTF-8 free of control characters
// (tab allowed only when tab is true).
func cleanText(s string, tab bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && (r != '\t' || !tab) {
			return false
		}
	}
	return true
}

// cut splits s at its first run of spaces or tabs.
func cut(s string) (tok, rest string) {
	i := 0
	for i < len(s) && !isSep(s[i]) {
		i++
	}
	tok = s[:i]
	for i < len(s) && isSep(s[i]) {
		i++
	}
	return tok, s[i:]
}

// Line renders c in canonical wire form: the lower-case verb and its
// arguments separated by single spaces. For any c returned by [Parse],
// Parse(c.Line()) returns c again.
func (c Command) Line() string {
	var b strings.Builder
	b.WriteString(string(c.Verb))
	add := func(s string) {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	switch c.Verb {
	case CacheLog:
		if c.HasN {
			add(strconv.Itoa(c.N))
		}
	case Tail, Cat, Ls:
		add(c.Path)
	case Echo:
		add(c.Path)
		add(c.Payload)
	case Spawn:
		add(c.Payload)
	case Kill:
		add(c.WorkerID)
	case Attach:
		add(c.Role)
		if c.Ticket != "" {
			add(c.Ticket)
		}
	}
	return b.String()
}
