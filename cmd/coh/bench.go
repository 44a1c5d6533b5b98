package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/fleetbench"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

func benchCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "Measure a hive under load",
		Subcommands: []*cli.Command{{
			Name:  "workers",
			Usage: "Spawn and attach N heartbeat workers, load them, probe the console and report",
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "workers", Value: generated.QueenMaxWorkers, Usage: "Workers to spawn (default: this coh's queen.max_workers)"},
				&cli.IntFlag{Name: "workers-min", Usage: "Ramp mode: workers in the first step"},
				&cli.IntFlag{Name: "workers-max", Usage: "Ramp mode: workers in the last step"},
				&cli.StringFlag{Name: "step", Value: "x2", Usage: "Ramp mode: growth per step, a factor (x2) or a count (+100)"},
				&cli.DurationFlag{Name: "duration", Value: time.Minute, Usage: "Measured time per step"},
				&cli.Int64Flag{Name: "seed", Value: 1, Usage: "Seed of the heartbeat phases and padding"},
				&cli.StringFlag{Name: "mode", Value: string(fleetbench.ModeReopen), Usage: "Append mode: reopen (walk+open+write+clunk each heartbeat) or keep-open (one open fid)"},
				&cli.DurationFlag{Name: "p99-knee", Value: 5 * time.Millisecond, Usage: "Append p99 above which a ramp step is the knee"},
				&cli.DurationFlag{Name: "interval", Value: time.Second, Usage: "Heartbeat period of each worker"},
				&cli.DurationFlag{Name: "probe-interval", Value: 250 * time.Millisecond, Usage: "Period of the operator console probe (cat " + fleetbench.ProbePath + ")"},
				&cli.DurationFlag{Name: "op-timeout", Value: callTimeout(), Usage: "An append or probe slower than this counts as a timeout"},
				&cli.IntFlag{Name: "record-bytes", Value: 100, Usage: "Bytes per heartbeat, newline included"},
				&cli.UintFlag{Name: "msize", Value: generated.ClientPoliciesHeartbeatMsize, Usage: "The msize each worker session negotiates (client_policies.heartbeat.msize; at most secure9p.msize)"},
				&cli.IntFlag{Name: "retry-max-attempts", Value: generated.ClientPoliciesRetryMaxAttempts, Usage: "Sends of a heartbeat the hive refused (EBUSY, EAGAIN), the first included, with client_policies.retry's back-off; 1: no resend"},
				&cli.IntFlag{Name: "concurrency", Value: 16, Usage: "Worker attaches in flight at once"},
				&cli.IntFlag{Name: "hive-pid", Usage: "The hive's process id for CPU and RSS (default: the local process listening on --9p-port; -1: none)"},
				&cli.StringFlag{Name: "auth-token", Value: generated.ConsoleAuthToken, EnvVars: []string{"COHSH_AUTH_TOKEN"}, Usage: "Console AUTH token (env COHSH_AUTH_TOKEN)"},
				&cli.StringFlag{Name: "csv", Usage: "Write one CSV row per step to this file"},
				&cli.BoolFlag{Name: "keep", Usage: "Leave the spawned workers running at the end"},
				jsonFlag,
			},
			Action: noArgs("bench workers", e.benchWorkers),
		}},
	}
}

// benchConfig turns the flags into a run configuration; every error is
// a usage error.
func benchConfig(c *cli.Context) (fleetbench.Config, error) {
	mode, err := fleetbench.ParseMode(c.String("mode"))
	if err != nil {
		return fleetbench.Config{}, err
	}
	cfg := fleetbench.Config{
		Mode: mode, Duration: c.Duration("duration"), Seed: c.Int64("seed"), Knee: c.Duration("p99-knee"),
		Interval: c.Duration("interval"), ProbeInterval: c.Duration("probe-interval"), OpTimeout: c.Duration("op-timeout"),
		RecordBytes: c.Int("record-bytes"), Concurrency: c.Int("concurrency"), Keep: c.Bool("keep"),
		Retry: nineclient.ManifestRetry(),
	}
	cfg.Retry.MaxAttempts = c.Int("retry-max-attempts")
	ramp := c.IsSet("workers-min") || c.IsSet("workers-max")
	switch {
	case ramp && c.IsSet("workers"):
		return cfg, errors.New("--workers and --workers-min/--workers-max are exclusive: one count, or a ramp")
	case ramp && !(c.IsSet("workers-min") && c.IsSet("workers-max")):
		return cfg, errors.New("ramp mode needs both --workers-min and --workers-max")
	case !ramp && c.IsSet("step"):
		return cfg, errors.New("--step needs --workers-min and --workers-max")
	case ramp:
		if cfg.Steps, err = fleetbench.RampSteps(c.Int("workers-min"), c.Int("workers-max"), c.String("step")); err != nil {
			return cfg, err
		}
	default:
		cfg.Steps = []int{c.Int("workers")}
	}
	if c.Int("hive-pid") < -1 {
		return cfg, fmt.Errorf("--hive-pid %d: want a process id, or -1 for none", c.Int("hive-pid"))
	}
	if u := restURL(c); u != "" {
		return cfg, errors.New("coh bench speaks Secure9P and the console; it does not run over --rest-url")
	}
	return cfg, cfg.Validate()
}

func (e *env) benchWorkers(c *cli.Context) error {
	cfg, err := benchConfig(c)
	if err != nil {
		return fail(exitUsage, "coh bench workers: %v", err)
	}
	hive, closeHive, err := benchPreflight(c)
	if err != nil {
		return err
	}
	defer closeHive()
	cfg.HivePID = hivePID(c, e.stderr)
	cfg.RefusalHint = refusalHint
	var endProgress func()
	cfg.Progress, endProgress = progressLine(e.stderr)
	ctx := c.Context
	if e.ctx != nil {
		ctx = e.ctx
	}
	rep, runErr := fleetbench.Run(ctx, hive, cfg)
	if rep == nil {
		return fail(exitUsage, "coh bench workers: %v", runErr)
	}
	endProgress()
	if path := c.String("csv"); path != "" {
		if err := writeCSV(path, rep); err != nil {
			return fail(exitFailed, "coh bench workers: --csv: %v", err)
		}
	}
	if c.Bool("json") {
		emitJSON(e.stdout, rep)
	} else {
		printReport(e.stdout, rep)
	}
	switch {
	case runErr != nil:
		return fail(exitFailed, "coh bench workers: %v", runErr)
	case rep.Interrupted:
		return fail(exitFailed, "coh bench workers: interrupted; the summary covers what was measured")
	}
	return nil
}

// benchPreflight checks, before any load, that the hive is reachable on
// both listeners, that it accepts the queen ticket and the console token,
// that `ls /` shows /queen and /worker, and that worker tickets can be
// minted. Each failure says what to do next.
func benchPreflight(c *cli.Context) (*fleetbench.NineHive, func(), error) {
	timeout := callTimeout()
	nine := nineAddr(c)
	cons := net.JoinHostPort(c.String("host"), strconv.Itoa(c.Int("port")))
	for _, l := range []struct{ what, addr, flag string }{{"Secure9P", nine, "--9p-port"}, {"console", cons, "--port"}} {
		nc, err := net.DialTimeout("tcp", l.addr, timeout)
		if err != nil {
			return nil, nil, fail(exitUnreachable, "coh bench: preflight: the hive's %s listener at %s is unreachable: %v; is the root task running (`make run`)? else point --host and %s at it", l.what, l.addr, err, l.flag)
		}
		nc.Close()
	}
	tok, err := hiveTicket(c)
	if err != nil {
		return nil, nil, err
	}
	if cl, err := ticket.Parse(tok); err != nil || cl.Role != ticket.RoleQueen {
		return nil, nil, fail(exitUsage, "coh bench: preflight: the ticket is not a queen ticket; spawn and kill go through /queen/ctl: use --role queen or pass a queen ticket (`cohsh --mint-ticket --role queen`)")
	}
	queen, err := nineclient.Dial(nine, tok, timeout)
	if err != nil {
		return nil, nil, fail(exitUnreachable, "coh bench: preflight: the hive at %s refused the queen ticket: %v; pass --ticket (or COH_TICKET) minted with the hive's queen secret (`cohsh --mint-ticket --role queen`)", nine, err)
	}
	ok := false
	defer func() {
		if !ok {
			queen.Close()
		}
	}()
	root, err := queen.List("/")
	if err != nil {
		return nil, nil, fail(exitFailed, "coh bench: preflight: ls / on %s: %v; the session cannot read the namespace root, check the ticket's role and the hive's policy", nine, err)
	}
	for _, want := range []string{"queen", "worker"} {
		if !slices.Contains(root, want) {
			return nil, nil, fail(exitFailed, "coh bench: preflight: ls / on %s lists %v, no /%s: this hive serves no workers to load", nine, root, want)
		}
	}
	mint := func(id string) (string, error) {
		return nineclient.Mint(ticket.RoleWorkerHeartbeat, id, time.Now())
	}
	if _, err := mint("worker-1"); err != nil {
		return nil, nil, fail(exitFailed, "coh bench: preflight: cannot mint worker tickets: %v; build coh with the hive's manifest (`make generate`)", err)
	}
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	conn, err := client.DialOptions(ctx, cons, c.String("auth-token"), client.Options{Reconnect: true})
	var authErr *client.AuthError
	switch {
	case errors.As(err, &authErr):
		return nil, nil, fail(exitUnreachable, "coh bench: preflight: the console at %s refused AUTH (%s); set --auth-token or COHSH_AUTH_TOKEN to the hive's console.auth_token", cons, authErr.Line)
	case err != nil:
		return nil, nil, fail(exitUnreachable, "coh bench: preflight: console %s: %v", cons, err)
	}
	resp, err := conn.DoContext(ctx, "attach queen "+tok)
	if err != nil || !resp.Ack.OK {
		conn.Close()
		return nil, nil, fail(exitUnreachable, "coh bench: preflight: the console at %s refused the queen attach: %s%v; pass a ticket the hive accepts (--ticket)", cons, resp.AckLine(), errOrEmpty(err))
	}
	if r, err := conn.DoContext(ctx, "cat "+fleetbench.ProbePath); err != nil || !r.Ack.OK {
		conn.Close()
		return nil, nil, fail(exitFailed, "coh bench: preflight: console cat %s: %s%v", fleetbench.ProbePath, r.AckLine(), errOrEmpty(err))
	}
	ok = true
	pool := queen.Pool(nineclient.PoolConfig{})
	h := &fleetbench.NineHive{Queen: queen, Control: pool, Console: conn, Addr: nine, Timeout: timeout, Msize: uint32(c.Uint("msize")), MintWorker: mint, Frames: generated.TelemetryFrameSchema}
	return h, func() { conn.Close(); pool.Close(); queen.Close() }, nil
}

func errOrEmpty(err error) any {
	if err == nil {
		return ""
	}
	return err
}

// hivePID is --hive-pid, else the local process listening on --9p-port;
// 0 (CPU and RSS "n/a") when the hive is elsewhere or not found.
func hivePID(c *cli.Context, stderr io.Writer) int {
	switch pid := c.Int("hive-pid"); {
	case pid > 0:
		return pid
	case pid < 0 || !fleetbench.IsLocal(c.String("host")):
		return 0
	}
	pid, err := fleetbench.FindListener(c.Int("9p-port"))
	if err != nil {
		fmt.Fprintf(stderr, "coh bench: hive CPU and RSS n/a: %v (pass --hive-pid)\n", err)
		return 0
	}
	return pid
}

// refusalHint says what to do about a refused spawn.
func refusalHint(err error) string {
	if errors.Is(err, linux.EDQUOT) {
		return fmt.Sprintf("the hive is at its queen.max_workers, %d in this coh's profile; start the hive with a larger profile (the fleet profile) or ask for fewer workers", generated.QueenMaxWorkers)
	}
	if errors.Is(err, linux.EPERM) || errors.Is(err, linux.EACCES) {
		return "the hive's policy or lifecycle refuses new work; check `cat /proc/lifecycle/state` and /policy"
	}
	return ""
}

// progressLine returns the progress callback, one line rewritten in
// place on a terminal and one line every ten seconds elsewhere, and the
// function that ends the line in place.
func progressLine(w io.Writer) (func(fleetbench.Progress), func()) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	n := 0
	end := func() {
		if tty && n > 0 {
			fmt.Fprintln(w)
		}
	}
	return func(p fleetbench.Progress) {
		n++
		if !tty && n%10 != 0 {
			return
		}
		line := fmt.Sprintf("bench step %d/%d workers=%d %s", p.Step, p.Steps, p.Workers, p.Phase)
		if p.Phase == "load" {
			line += fmt.Sprintf(" %.0fs/%.0fs appends=%d errors=%d p99=%.2fms", p.Elapsed.Seconds(), p.Duration.Seconds(), p.Appends, p.Errors.Total(), float64(p.P99)/float64(time.Millisecond))
		}
		if tty {
			fmt.Fprintf(w, "\r%-100s", line)
		} else {
			fmt.Fprintln(w, line)
		}
	}, end
}

// na formats an optional figure.
func na(v *float64, format string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

// printReport writes the text summary.
func printReport(w io.Writer, r *fleetbench.Report) {
	fmt.Fprintf(w, "bench workers mode=%s seed=%d duration=%gs interval=%gms record_bytes=%d\n", r.Mode, r.Seed, r.DurationS, r.IntervalMs, r.RecordBytes)
	fmt.Fprintf(w, "%8s %8s %6s %6s %7s %8s %9s %9s %9s %9s %10s %9s  %s\n",
		"workers", "appends", "ebusy", "tmout", "other", "skipped", "p50_ms", "p99_ms", "con_p50", "con_p99", "cpu_cores", "rss_mib", "loadavg")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%8d %8d %6d %6d %7d %8d %9.2f %9.2f %9.2f %9.2f %10s %9s  %s\n",
			s.Workers, s.Appends, s.Errors.EBUSY, s.Errors.Timeout, s.Errors.Other, s.Skipped,
			s.AppendP50Ms, s.AppendP99Ms, s.ConsoleP50Ms, s.ConsoleP99Ms,
			na(s.HiveCPUCores, "%.3f"), na(s.HiveRSSMiB, "%.1f"), s.LoadAvg)
	}
	if r.Knee != nil {
		fmt.Fprintf(w, "knee: %d workers (append p99 above %gms)\n", *r.Knee, r.KneeMs)
	} else {
		fmt.Fprintf(w, "knee: none (append p99 stayed at or below %gms in every step of %d or more appends)\n", r.KneeMs, fleetbench.MinP99Samples)
	}
	retries := 0
	for _, s := range r.Steps {
		retries += s.Retries
	}
	fmt.Fprintf(w, "errors: ebusy=%d timeout=%d other=%d (setup phases: %d); refusals resent: %d\n", r.Errors.EBUSY, r.Errors.Timeout, r.Errors.Other, r.SetupErrors.Total(), retries)
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "hive received: %d heartbeats, %d acknowledged, %d of %d workers checked, %d mismatched", s.Received, s.Acked, s.Checked, len(r.Workers), s.Mismatched)
		if s.Unchecked != "" {
			fmt.Fprintf(w, " (%s)", s.Unchecked)
		}
		fmt.Fprintln(w)
	}
	switch {
	case r.Kept:
		fmt.Fprintf(w, "workers kept: %d (%s)\n", len(r.Workers), strings.Join(r.Workers[:min(len(r.Workers), 8)], " "))
	default:
		fmt.Fprintf(w, "workers killed: %d of %d\n", r.Killed, len(r.Workers))
	}
	for _, e := range r.CleanupErrors {
		fmt.Fprintln(w, "cleanup:", e)
	}
	if r.Refused != "" {
		fmt.Fprintln(w, "refused:", r.Refused)
	}
	if r.Failed != "" {
		fmt.Fprintln(w, "failed:", r.Failed)
	}
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted: the figures cover what ran before the interrupt")
	}
}

// csvHeader is the --csv columns, one row per step.
var csvHeader = []string{"workers", "seconds", "appends", "ebusy", "timeout", "other", "skipped",
	"append_p50_ms", "append_p99_ms", "append_max_ms", "console_probes", "console_errors", "console_p50_ms", "console_p99_ms",
	"hive_cpu_cores", "hive_rss_mib", "loadavg", "mode", "seed", "retries"}

func writeCSV(path string, r *fleetbench.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(csvHeader)
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 3, 64)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, s := range r.Steps {
		w.Write([]string{strconv.Itoa(s.Workers), num(s.Seconds), strconv.Itoa(s.Appends),
			strconv.Itoa(s.Errors.EBUSY), strconv.Itoa(s.Errors.Timeout), strconv.Itoa(s.Errors.Other), strconv.Itoa(s.Skipped),
			num(s.AppendP50Ms), num(s.AppendP99Ms), num(s.AppendMaxMs), strconv.Itoa(s.Probes), strconv.Itoa(s.ProbeErrors.Total()),
			num(s.ConsoleP50Ms), num(s.ConsoleP99Ms), opt(s.HiveCPUCores), opt(s.HiveRSSMiB), s.LoadAvg, string(r.Mode), strconv.FormatInt(r.Seed, 10), strconv.Itoa(s.Retries)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
