package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
)

type stmtKind int

const (
	stmtCommand stmtKind = iota
	stmtExpect
	stmtWait
)

// stmt is one non-empty .coh statement (spec console.md §8).
type stmt struct {
	line int    // 1-based physical line
	text string // the statement, comment removed and trimmed
	kind stmtKind
	sel  string // EXPECT selector: OK, ERR, SUBSTR, NOT
	arg  string // EXPECT SUBSTR/NOT text
	ms   int    // WAIT milliseconds
}

// scriptError is a syntax error found while lexing or checking.
type scriptError struct {
	line int
	msg  string
}

func (e *scriptError) Error() string {
	return fmt.Sprintf("script error at line %d: %s", e.line, e.msg)
}

// lexScript splits src into statements: everything from the first '#' on a
// line is a comment, blank lines are skipped, EXPECT and WAIT are checked.
func lexScript(src string) ([]stmt, error) {
	var out []stmt
	for i, raw := range strings.Split(src, "\n") {
		text := strings.TrimRight(raw, " \t\r")
		if j := strings.IndexByte(text, '#'); j >= 0 {
			text = text[:j]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		n := i + 1
		if len(out) == generated.ScriptsMaxStatements {
			return nil, &scriptError{n, fmt.Sprintf("script exceeds max of %d lines", generated.ScriptsMaxStatements)}
		}
		st := stmt{line: n, text: text}
		word, rest := cutWord(text)
		switch word {
		case "EXPECT":
			st.kind = stmtExpect
			st.sel, st.arg = cutWord(rest)
			switch st.sel {
			case "OK", "ERR":
				if st.arg != "" {
					return nil, &scriptError{n, "EXPECT " + st.sel + " takes no text"}
				}
			case "SUBSTR", "NOT":
				if st.arg == "" {
					return nil, &scriptError{n, "EXPECT " + st.sel + " requires text"}
				}
			case "":
				return nil, &scriptError{n, "EXPECT requires a selector: OK, ERR, SUBSTR or NOT"}
			default:
				return nil, &scriptError{n, "unknown EXPECT selector '" + st.sel + "'"}
			}
		case "WAIT":
			st.kind = stmtWait
			ms, err := strconv.Atoi(rest)
			if err != nil || ms < 0 || strings.ContainsAny(rest, " \t") {
				return nil, &scriptError{n, "WAIT requires a single integer of milliseconds"}
			}
			if ms > generated.ScriptsWaitMaxMs {
				return nil, &scriptError{n, fmt.Sprintf("WAIT exceeds max of %d ms", generated.ScriptsWaitMaxMs)}
			}
			st.ms = ms
		}
		out = append(out, st)
	}
	return out, checkScript(out)
}

// checkScript enforces EXPECT placement: a command must come first.
func checkScript(stmts []stmt) error {
	for _, st := range stmts {
		switch st.kind {
		case stmtCommand:
			return nil
		case stmtExpect:
			return &scriptError{st.line, "EXPECT requires a prior command response"}
		}
	}
	return nil
}

// cutWord splits s at its first run of spaces or tabs.
func cutWord(s string) (string, string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// expectHolds evaluates an EXPECT against the last response line.
func expectHolds(st stmt, last string) bool {
	switch st.sel {
	case "OK":
		return strings.HasPrefix(last, "OK")
	case "ERR":
		return strings.HasPrefix(last, "ERR")
	case "SUBSTR":
		return strings.Contains(last, st.arg)
	case "NOT":
		return !strings.Contains(last, st.arg)
	}
	return false
}

// histEntry is one executed command in a failure report.
type histEntry struct {
	line     int
	command  string
	response string
}

// scriptFailure is the §8 failure report.
type scriptFailure struct {
	line        int
	text        string
	reason      string
	lastCommand string
	lastResp    string
	lastSource  string
	history     []histEntry
	connErr     bool // the hive could not be reached: exit 3
}

func (f *scriptFailure) write(w io.Writer) {
	fmt.Fprintf(w, "script failure at line %d: %s\n", f.line, f.text)
	fmt.Fprintf(w, "reason: %s\n", f.reason)
	fmt.Fprintf(w, "last command: %s\n", f.lastCommand)
	fmt.Fprintf(w, "last response: %s\n", f.lastResp)
	fmt.Fprintf(w, "last response source: %s\n", f.lastSource)
	fmt.Fprintf(w, "history:\n")
	for _, h := range f.history {
		fmt.Fprintf(w, "  line %d: %s -> %s\n", h.line, h.command, h.response)
	}
}

// scriptHooks let the self-test observe and filter statements.
type scriptHooks struct {
	out    io.Writer // transcript lines; nil discards
	errw   io.Writer // command errors; nil discards
	skip   func(stmt) bool
	report func(st stmt, r *result, ok bool, detail string)
	stop   func() bool // true aborts before the next statement
}

// runScript executes statements with the §8 rules. It returns nil when the
// script ran to its end or to a quit.
func (sh *shell) runScript(ctx context.Context, stmts []stmt, h scriptHooks) *scriptFailure {
	run := &scriptRun{sh: sh, h: h, stmts: stmts, source: sourceNone}
	for i, st := range stmts {
		if h.stop != nil && h.stop() {
			return nil
		}
		var f *scriptFailure
		quit := false
		switch st.kind {
		case stmtWait:
			f = run.wait(ctx, st)
		case stmtExpect:
			f = run.expect(st)
		default:
			f, quit = run.command(ctx, i, st)
		}
		if f != nil || quit {
			return f
		}
	}
	return nil
}

// scriptRun is the state of one runScript: the last response EXPECT sees
// and the history a failure report shows.
type scriptRun struct {
	sh    *shell
	h     scriptHooks
	stmts []stmt

	last, lastCmd, source string
	have                  bool // a command has run
	skipping              bool // the last command was skipped, and so are its EXPECTs
	history               []histEntry
}

func (run *scriptRun) fail(st stmt, reason string, connErr bool) *scriptFailure {
	return &scriptFailure{line: st.line, text: st.text, reason: reason, lastCommand: run.lastCmd,
		lastResp: run.last, lastSource: run.source, history: run.history, connErr: connErr}
}

func (run *scriptRun) wait(ctx context.Context, st stmt) *scriptFailure {
	if err := run.sh.sleep(ctx, st.ms); err != nil {
		return run.fail(st, err.Error(), false)
	}
	return nil
}

func (run *scriptRun) expect(st stmt) *scriptFailure {
	if run.skipping {
		return nil
	}
	if !run.have {
		return run.fail(st, "EXPECT requires a prior command response", false)
	}
	ok := expectHolds(st, run.last)
	detail := "OK"
	if !ok {
		detail = fmt.Sprintf("expected %s but last response was '%s'", strings.TrimPrefix(st.text, "EXPECT "), run.last)
	}
	if run.h.report != nil {
		run.h.report(st, nil, ok, detail)
	}
	if !ok {
		return run.fail(st, detail, false)
	}
	return nil
}

// command runs statement i. An ERR response is tolerated when an EXPECT
// follows, which then judges it.
func (run *scriptRun) command(ctx context.Context, i int, st stmt) (f *scriptFailure, quit bool) {
	if run.h.skip != nil && run.h.skip(st) {
		run.skipping = true
		return nil, false
	}
	run.skipping = false
	r := run.sh.exec(ctx, st.text)
	run.print(r)
	run.have, run.lastCmd, run.last, run.source = true, st.text, r.ack, r.source
	run.history = append(run.history, histEntry{st.line, st.text, r.ack})
	if len(run.history) > generated.ScriptsFailureHistory {
		run.history = run.history[1:]
	}
	tolerated := strings.HasPrefix(r.ack, "ERR") && i+1 < len(run.stmts) && run.stmts[i+1].kind == stmtExpect
	if run.h.report != nil {
		run.h.report(st, &r, !r.failed || tolerated, errDetail(r.ack, r.err))
	}
	if r.failed && !tolerated {
		reason := "command failed"
		if r.err != nil {
			reason = r.err.Error()
		}
		return run.fail(st, reason, isConnErr(r.err)), false
	}
	return nil, r.quit
}

// print writes a command's lines and error to the hooks' writers.
func (run *scriptRun) print(r result) {
	if run.h.out != nil {
		for _, l := range r.lines {
			fmt.Fprintln(run.h.out, l)
		}
	}
	if r.err != nil && run.h.errw != nil {
		fmt.Fprintf(run.h.errw, "error: %v\n", r.err)
	}
}

// errDetail is a response's ACK line, or "ERR <error>" when it failed
// locally or on the transport.
func errDetail(ack string, err error) string {
	if err != nil {
		return "ERR " + err.Error()
	}
	return ack
}
