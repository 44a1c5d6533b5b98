package gateway

import (
	"errors"
	"strconv"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// lim is the console's limits: acks render exactly as the TCP console
// renders them.
var lim = console.ManifestLimits()

// refusalWords maps the errno a Secure9P refusal carries back to the
// console's words for the same refusal (the inverse of
// secure9p.Errno, spec console §5 as consoleserver.nsError renders it).
func refusalWords(err error) (reason, detail, text string) {
	var e linux.Errno
	if !errors.As(err, &e) {
		return console.ReasonPolicy, console.DetailInvalidPayload, console.ErrorTextInvalidPayload
	}
	switch e {
	case linux.EPERM, linux.EACCES:
		return console.ReasonPolicy, console.DetailDenied, console.ErrorTextEPERM
	case linux.ENOENT, linux.ENOTDIR, linux.EISDIR:
		return console.ReasonPolicy, console.DetailInvalidPath, console.ErrorTextInvalidPath
	case linux.EDQUOT, linux.EMSGSIZE:
		return console.ReasonQuota, console.DetailBufferFull, console.ErrorTextBufferFull
	case linux.EBUSY:
		return console.ReasonBusy, "busy", "EBUSY"
	case linux.EHOSTUNREACH:
		return console.ReasonCut, console.DetailRootUnreachable, "EHOSTUNREACH"
	case linux.EBADF:
		return console.ReasonPolicy, console.DetailRevoked, "closed"
	}
	return console.ReasonPolicy, console.DetailInvalidPayload, console.ErrorTextInvalidPayload
}

// isRefusal reports whether err is the hive's answer (an errno in an
// Rlerror) rather than a broken session.
func isRefusal(err error) bool {
	var e linux.Errno
	return errors.As(err, &e)
}

// refused builds the ERR response for a hive refusal of verb on path.
func refused(verb console.Verb, path string, err error) gatewayapi.Response {
	if readVerb(verb) && errors.Is(err, linux.EDQUOT) {
		// Secure9P carries a ticket's ELIMIT and a full buffer alike as
		// EDQUOT (DECISIONS D2), but a read fills no buffer: on cat and
		// tail it can only be the ticket's rate, bandwidth or cursor
		// quota, which the console words reason=quota error=ELIMIT.
		return errResponse(verb, path, console.Refusal(verb.Label(), console.ReasonQuota, "", "path", path, "error", console.ErrorTextELIMIT))
	}
	reason, detail, text := refusalWords(err)
	return errResponse(verb, path, console.Refusal(verb.Label(), reason, detail, "path", path, "error", text))
}

// errResponse wraps a refusal ack.
func errResponse(verb console.Verb, path string, a console.Ack) gatewayapi.Response {
	return gatewayapi.Response{
		Status: gatewayapi.StatusERR, Verb: verb.Label(), Path: path, End: true,
		Lines: []string{}, Error: a.Detail, Ack: a.Render(lim),
	}
}

// okResponse builds an OK response with the console's ack kv pairs.
func okResponse(verb console.Verb, path string, lines []string, n int, kv ...string) gatewayapi.Response {
	if lines == nil {
		lines = []string{}
	}
	return gatewayapi.Response{
		Status: gatewayapi.StatusOK, Verb: verb.Label(), Path: path, End: true,
		Lines: lines, Bytes: n, Ack: console.Success(verb.Label(), kv...).Render(lim),
	}
}

// lsResponse is the answer to a listing, as console ls acks it.
func lsResponse(path string, names []string) gatewayapi.Response {
	n := 0
	for _, s := range names {
		n += len(s) + 1
	}
	return okResponse(console.Ls, path, names, n, "path", path, "entries", strconv.Itoa(len(names)))
}

// readVerb reports whether verb only reads.
func readVerb(verb console.Verb) bool {
	return verb == console.Cat || verb == console.Tail || verb == console.Ls
}
