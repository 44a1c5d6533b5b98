package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
)

// Self-test limits (spec console.md §9).
const (
	checkNameMax  = 120
	checkDetailMx = 200
	excerptMax    = 512
	selftestDir   = "/proc/tests/"
)

type check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Detail  string `json:"detail"`
	Excerpt string `json:"transcript_excerpt,omitempty"`
}

type selftestReport struct {
	OK        bool    `json:"ok"`
	Mode      string  `json:"mode"`
	ElapsedMs uint64  `json:"elapsed_ms"`
	Checks    []check `json:"checks"`
	Version   string  `json:"version"`
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// selftestOpts are the arguments of test.
type selftestOpts struct {
	mode             string
	asJSON, noMutate bool
	timeout          int // seconds
}

// parseSelftestArgs reads "[--mode quick|full] [--json] [--timeout s]
// [--no-mutate]"; a value may follow its flag or an '='.
func parseSelftestArgs(args []string, asJSON bool) (selftestOpts, error) {
	o := selftestOpts{mode: "quick", asJSON: asJSON, timeout: generated.ScriptsTestTimeoutDefaultS}
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() (string, bool) {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v, true
			}
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return "", false
		}
		var err error
		switch name, _, _ := strings.Cut(a, "="); name {
		case "--mode":
			err = o.setMode(val())
		case "--timeout":
			err = o.setTimeout(val())
		case "--json":
			o.asJSON = true
		case "--no-mutate":
			o.noMutate = true
		default:
			err = usagef("test: unknown argument '%s'", a)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func (o *selftestOpts) setMode(v string, ok bool) error {
	if !ok || (v != "quick" && v != "full") {
		return usagef("test --mode must be quick or full")
	}
	o.mode = v
	return nil
}

func (o *selftestOpts) setTimeout(v string, ok bool) error {
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 1 || n > generated.ScriptsTestTimeoutMaxS {
		return usagef("test --timeout must be 1..=%d seconds", generated.ScriptsTestTimeoutMaxS)
	}
	o.timeout = n
	return nil
}

// selftest runs "test [--mode quick|full] [--json] [--timeout s] [--no-mutate]".
func (sh *shell) selftest(ctx context.Context, args []string) result {
	o, err := parseSelftestArgs(args, sh.json)
	if err != nil {
		return localErr(err)
	}
	start := time.Now()
	deadline := start.Add(time.Duration(o.timeout) * time.Second)
	rep := selftestReport{Mode: o.mode, Version: "1"}
	add := func(c check) {
		c.Name, c.Detail, c.Excerpt = clipText(c.Name, checkNameMax), clipText(c.Detail, checkDetailMx), clipText(c.Excerpt, excerptMax)
		rep.Checks = append(rep.Checks, c)
	}
	sh.runSelftest(ctx, o.mode, o.noMutate, deadline, add)
	rep.OK = true
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	rep.ElapsedMs = uint64(time.Since(start).Milliseconds())
	sh.reattach(ctx)
	return result{lines: rep.lines(o.asJSON), source: sourceNone, failed: !rep.OK}
}

// reattach restores an interactive session the bundled scripts quit.
func (sh *shell) reattach(ctx context.Context) {
	if !sh.interactive || sh.attached || sh.lastRole == "" {
		return
	}
	args := []string{sh.lastRole}
	if sh.lastTicket != "" {
		args = append(args, sh.lastTicket)
	}
	sh.attach(ctx, args)
}

// lines renders the report: one JSON line, or a summary, a line a check
// and the first failure.
func (rep selftestReport) lines(asJSON bool) []string {
	if asJSON {
		b, _ := json.Marshal(rep)
		return []string{string(b)}
	}
	status := map[bool]string{true: "PASS", false: "FAIL"}
	lines := []string{fmt.Sprintf("selftest %s mode=%s elapsed_ms=%d", status[rep.OK], rep.Mode, rep.ElapsedMs)}
	var first *check
	for i, c := range rep.Checks {
		lines = append(lines, fmt.Sprintf("%s - %s (%s)", status[c.OK], c.Name, c.Detail))
		if !c.OK && first == nil {
			first = &rep.Checks[i]
		}
	}
	if first != nil {
		lines = append(lines, fmt.Sprintf("first failure: %s (%s)", first.Name, first.Detail))
	}
	return lines
}

func (sh *shell) runSelftest(ctx context.Context, mode string, noMutate bool, deadline time.Time, add func(check)) {
	if !sh.preflight(ctx, add) {
		return
	}
	timedOut := false
	stop := func() bool {
		if !timedOut && time.Now().After(deadline) {
			timedOut = true
			add(check{Name: "timeout", Detail: "ERR timeout exceeded"})
		}
		return timedOut
	}
	for _, name := range []string{"selftest_negative.coh", "selftest_" + mode + ".coh"} {
		if !sh.selftestScript(ctx, selftestDir+name, noMutate, stop, add) || timedOut {
			return
		}
	}
}

// preflight checks that the session is attached and answers PING.
func (sh *shell) preflight(ctx context.Context, add func(check)) bool {
	if !sh.attached {
		add(check{Name: "preflight/attach", Detail: "ERR not attached"})
		return false
	}
	resp, err := sh.wire(ctx, string(console.Ping))
	if !respOK(resp, err) {
		add(check{Name: "preflight/ping", Detail: errDetail(resp.AckLine(), err), Excerpt: strings.Join(resp.Raw, "\n")})
		return false
	}
	add(check{Name: "preflight/ping", OK: true, Detail: "OK ping"})
	return true
}

// selftestScript loads one bundled script from the hive and runs it, a
// check a statement. It reports whether the self-test goes on.
func (sh *shell) selftestScript(ctx context.Context, path string, noMutate bool, stop func() bool, add func(check)) bool {
	resp, err := sh.wire(ctx, string(console.Cat)+" "+path)
	if !respOK(resp, err) {
		add(check{Name: "load " + path, Detail: errDetail(resp.AckLine(), err)})
		return false
	}
	stmts, err := lexScript(strings.Join(resp.Lines, "\n"))
	if err != nil {
		add(check{Name: "load " + path, Detail: "ERR " + err.Error()})
		return false
	}
	var failed bool
	f := sh.runScript(ctx, stmts, scriptHooks{
		skip: func(st stmt) bool { return noMutate && mutating(st.text) },
		stop: stop,
		report: func(st stmt, r *result, ok bool, detail string) {
			c := check{Name: fmt.Sprintf("line %d: %s", st.line, st.text), OK: ok, Detail: detail}
			if r != nil {
				c.Excerpt = strings.Join(r.lines, "\n")
			}
			failed = failed || !ok
			add(c)
		},
	})
	if f != nil && !failed {
		add(check{Name: fmt.Sprintf("line %d: %s", f.line, f.text), Detail: "ERR " + f.reason})
	}
	return f == nil
}

// respOK reports whether a wire exchange succeeded with an OK ACK.
func respOK(resp client.Response, err error) bool {
	return err == nil && resp.HasAck && resp.Ack.OK
}

// mutating reports whether --no-mutate skips a command: spawn, kill, and
// tail of /worker/... or /shard/... paths.
func mutating(cmd string) bool {
	f := strings.Fields(cmd)
	switch {
	case len(f) == 0:
		return false
	case f[0] == "spawn" || f[0] == "kill":
		return true
	case f[0] == "tail" && len(f) > 1:
		return strings.HasPrefix(f[1], "/worker/") || strings.HasPrefix(f[1], "/shard/")
	}
	return false
}
