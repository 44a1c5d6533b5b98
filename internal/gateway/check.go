package gateway

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// badInput is a request the gateway refuses before any upstream call:
// HTTP 400 with code and the words of msg.
type badInput struct {
	code string
	msg  string
}

func (e *badInput) Error() string { return e.msg }

func bad(code, format string, a ...any) *badInput {
	return &badInput{code: code, msg: fmt.Sprintf(format, a...)}
}

// checkPath applies the console's path rule to a REST path: absolute, at
// most console.path_max bytes, no "." or ".." component, no control
// bytes and no spaces (the console's path is one token). The hive checks
// again; this keeps bad input off the wire.
func checkPath(p string) error {
	switch {
	case p == "":
		return bad(gatewayapi.CodeBadRequest, "path is missing")
	case !strings.HasPrefix(p, "/"):
		return bad(gatewayapi.CodeBadRequest, "path %q is not absolute", clipForLog(p))
	case len(p) > generated.ConsolePathMax:
		return bad(gatewayapi.CodeTooLarge, "path is %d bytes, the most is %d", len(p), generated.ConsolePathMax)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == ' ' {
			return bad(gatewayapi.CodeBadRequest, "path has a control byte or space at %d", i)
		}
	}
	for _, comp := range strings.Split(p, "/") {
		if comp == ".." || comp == "." {
			return bad(gatewayapi.CodeBadRequest, "path %q has a %q component", clipForLog(p), comp)
		}
	}
	return nil
}

// clipForLog keeps an echoed path short and printable.
func clipForLog(s string) string {
	if len(s) > generated.ConsolePathMax {
		s = s[:generated.ConsolePathMax]
	}
	return strconv.QuoteToASCII(s)[1 : len(strconv.QuoteToASCII(s))-1]
}

// readQuery is the parsed query of ls, cat, tail, read and stat.
type readQuery struct {
	path     string
	maxBytes int   // 0: not given
	lines    int   // 0: not given
	offset   int64 // read only
	follow   bool
}

// parseReadQuery checks the query the document allows (the contract has
// validated types already; this is the gateway's own precise check, and
// what the fuzz target exercises). Each parameter may appear at most once.
func parseReadQuery(q url.Values) (readQuery, error) {
	var r readQuery
	for k, v := range q {
		if len(v) != 1 {
			return r, bad(gatewayapi.CodeBadRequest, "query parameter %s given %d times", clipForLog(k), len(v))
		}
	}
	r.path = q.Get("path")
	if err := checkPath(r.path); err != nil {
		return r, err
	}
	var err error
	if r.maxBytes, err = intParam(q, "max_bytes", 1, generated.GatewayMaxReadBytes); err != nil {
		return r, err
	}
	if r.lines, err = intParam(q, "lines", 1, generated.GatewayTailMaxLines); err != nil {
		return r, err
	}
	if s := q.Get("offset"); s != "" {
		if r.offset, err = strconv.ParseInt(s, 10, 64); err != nil || r.offset < 0 {
			return r, bad(gatewayapi.CodeBadRequest, "offset %q is not a byte offset", clipForLog(s))
		}
	}
	if s := q.Get("follow"); s != "" {
		if r.follow, err = strconv.ParseBool(s); err != nil {
			return r, bad(gatewayapi.CodeBadRequest, "follow %q is not true or false", clipForLog(s))
		}
	}
	return r, nil
}

// intParam parses an optional integer parameter in [lo, hi]; over hi is
// too-large, the spec's code for a cap exceeded.
func intParam(q url.Values, name string, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil && len(s) <= len(strconv.Itoa(hi)):
		return 0, bad(gatewayapi.CodeBadRequest, "%s %q is not an integer", name, clipForLog(s))
	case err != nil || n > hi:
		return 0, bad(gatewayapi.CodeTooLarge, "%s is over the gateway's cap of %d", name, hi)
	case n < lo:
		return 0, bad(gatewayapi.CodeBadRequest, "%s must be at least %d", name, lo)
	}
	return n, nil
}
