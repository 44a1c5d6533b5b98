package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
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

// selftest runs "test [--mode quick|full] [--json] [--timeout s] [--no-mutate]".
func (sh *shell) selftest(ctx context.Context, args []string) result {
	mode, asJSON, noMutate := "quick", sh.json, false
	timeout := generated.ScriptsTestTimeoutDefaultS
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
		switch name, _, _ := strings.Cut(a, "="); name {
		case "--mode":
			v, ok := val()
			if !ok || (v != "quick" && v != "full") {
				return localErr(usagef("test --mode must be quick or full"))
			}
			mode = v
		case "--timeout":
			v, ok := val()
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 1 || n > generated.ScriptsTestTimeoutMaxS {
				return localErr(usagef("test --timeout must be 1..=%d seconds", generated.ScriptsTestTimeoutMaxS))
			}
			timeout = n
		case "--json":
			asJSON = true
		case "--no-mutate":
			noMutate = true
		default:
			return localErr(usagef("test: unknown argument '%s'", a))
		}
	}
	start := time.Now()
	deadline := start.Add(time.Duration(timeout) * time.Second)
	rep := selftestReport{Mode: mode, Version: "1"}
	add := func(c check) {
		c.Name, c.Detail, c.Excerpt = clipText(c.Name, checkNameMax), clipText(c.Detail, checkDetailMx), clipText(c.Excerpt, excerptMax)
		rep.Checks = append(rep.Checks, c)
	}
	sh.runSelftest(ctx, mode, noMutate, deadline, add)
	rep.OK = true
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	rep.ElapsedMs = uint64(time.Since(start).Milliseconds())
	// Interactive cohsh re-attaches after the bundled scripts quit.
	if sh.interactive && !sh.attached && sh.lastRole != "" {
		args := []string{sh.lastRole}
		if sh.lastTicket != "" {
			args = append(args, sh.lastTicket)
		}
		sh.attach(ctx, args)
	}
	var lines []string
	if asJSON {
		b, _ := json.Marshal(rep)
		lines = []string{string(b)}
	} else {
		status := map[bool]string{true: "PASS", false: "FAIL"}
		lines = append(lines, fmt.Sprintf("selftest %s mode=%s elapsed_ms=%d", status[rep.OK], rep.Mode, rep.ElapsedMs))
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
	}
	return result{lines: lines, source: sourceNone, failed: !rep.OK}
}

func (sh *shell) runSelftest(ctx context.Context, mode string, noMutate bool, deadline time.Time, add func(check)) {
	if !sh.attached {
		add(check{Name: "preflight/attach", Detail: "ERR not attached"})
		return
	}
	resp, err := sh.wire(ctx, string(console.Ping))
	if err != nil || !resp.HasAck || !resp.Ack.OK {
		d := resp.AckLine()
		if err != nil {
			d = "ERR " + err.Error()
		}
		add(check{Name: "preflight/ping", Detail: d, Excerpt: strings.Join(resp.Raw, "\n")})
		return
	}
	add(check{Name: "preflight/ping", OK: true, Detail: "OK ping"})
	timedOut := false
	stop := func() bool {
		if !timedOut && time.Now().After(deadline) {
			timedOut = true
			add(check{Name: "timeout", Detail: "ERR timeout exceeded"})
		}
		return timedOut
	}
	for _, name := range []string{"selftest_negative.coh", "selftest_" + mode + ".coh"} {
		path := selftestDir + name
		resp, err := sh.wire(ctx, string(console.Cat)+" "+path)
		if err != nil || !resp.HasAck || !resp.Ack.OK {
			d := resp.AckLine()
			if err != nil {
				d = "ERR " + err.Error()
			}
			add(check{Name: "load " + path, Detail: d})
			return
		}
		stmts, err := lexScript(strings.Join(resp.Lines, "\n"))
		if err != nil {
			add(check{Name: "load " + path, Detail: "ERR " + err.Error()})
			return
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
		if f != nil || timedOut {
			return
		}
	}
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
