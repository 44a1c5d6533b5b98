package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohtrace"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/ticket"
	"golang.org/x/term"
)

// Exit codes (package doc).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUnreachable = 3
)

// Banner lines (spec console.md §7) and the prompt.
const (
	bannerWelcome = "Welcome to Cohesix. Type 'help' for commands."
	bannerDetach  = "detached shell: run 'attach <role>' to connect"
	prompt        = "coh> "
)

// options are cohsh's flags.
type options struct {
	role, ticket    string
	transport       string
	host            string
	port            int
	authToken       string
	script, check   string
	jsonOut         bool
	mint            bool
	subject, secret string
	ticketConfig    string
	serialCmd       string
	bootWait        time.Duration
	recordTrace     string
	replayTrace     string
	restURL         string
	restToken       string
	words           []string
}

// onceValue makes a flag given twice an error.
type onceValue struct {
	flag.Value
	set bool
}

func (o *onceValue) Set(s string) error {
	if o.set {
		return errors.New("flag given twice")
	}
	o.set = true
	return o.Value.Set(s)
}

// String implements flag.Value; flag's usage printer calls it on a zero onceValue.
func (o *onceValue) String() string {
	if o == nil || o.Value == nil {
		return ""
	}
	return o.Value.String()
}

func (o *onceValue) IsBoolFlag() bool {
	b, ok := o.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("cohsh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.define(fs, getenv)
	fs.VisitAll(func(f *flag.Flag) { f.Value = &onceValue{Value: f.Value} })
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cohsh [flags] [command words...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.words = fs.Args()
	return o, o.validate()
}

// define binds o's flags on fs; the console address and token default to
// the manifest's, the token to $COHSH_AUTH_TOKEN first.
func (o *options) define(fs *flag.FlagSet, getenv func(string) string) {
	host, port, ok := strings.Cut(generated.NetworkConsoleListen, ":")
	defPort, _ := strconv.Atoi(port)
	if !ok {
		host = generated.NetworkConsoleListen
	}
	token := getenv("COHSH_AUTH_TOKEN")
	if token == "" {
		token = generated.ConsoleAuthToken
	}
	fs.StringVar(&o.role, "role", "", "Attach as this role on start")
	fs.StringVar(&o.ticket, "ticket", "", "Ticket for --role")
	fs.StringVar(&o.transport, "transport", "tcp", "Transport: tcp, rest (hive-gateway at --rest-url), mock (in-process hive), serial (--serial-cmd's stdio) or mock-serial")
	fs.StringVar(&o.restURL, "rest-url", "", "URL of hive-gateway for --transport rest (env "+strings.Join(gatewayapi.URLEnv, ", ")+")")
	fs.StringVar(&o.restToken, "rest-auth-token", "", "Request-auth token of hive-gateway for --transport rest (env "+strings.Join(gatewayapi.TokenEnv, ", ")+")")
	fs.StringVar(&o.serialCmd, "serial-cmd", "", "Command whose stdio is a serial console, for --transport serial (e.g. 'roottask --serial stdio')")
	fs.DurationVar(&o.bootWait, "boot-wait", time.Duration(generated.ClientPoliciesRetryTimeoutMs)*time.Millisecond, "How long --serial-cmd may take to show its first prompt (a VM that boots under load needs more)")
	fs.StringVar(&o.host, "tcp-host", host, "Console host")
	fs.IntVar(&o.port, "tcp-port", defPort, "Console port")
	fs.StringVar(&o.authToken, "auth-token", token, "Console AUTH token (env COHSH_AUTH_TOKEN)")
	fs.StringVar(&o.script, "script", "", "Run a .coh script and exit")
	fs.StringVar(&o.check, "check", "", "Check a .coh script's syntax and exit")
	fs.BoolVar(&o.jsonOut, "json", false, "Print one-shot read commands and test reports as JSON")
	fs.BoolVar(&o.mint, "mint-ticket", false, "Mint a ticket for --role and exit")
	fs.StringVar(&o.subject, "ticket-subject", "", "Subject identity of the minted ticket")
	fs.StringVar(&o.secret, "ticket-secret", "", "Secret to sign the minted ticket (env COHSH_TICKET_SECRET)")
	fs.StringVar(&o.ticketConfig, "ticket-config", "", "Manifest TOML holding [[tickets]] secrets (env COHSH_TICKET_CONFIG)")
	fs.StringVar(&o.recordTrace, "record-trace", "", "Record the session's exchanges to a .trace file (--transport mock)")
	fs.StringVar(&o.replayTrace, "replay-trace", "", "Replay a .trace file against a fresh mock hive and verify it byte for byte (--transport mock)")
}

// transports are the values --transport takes.
var transports = []string{"tcp", "rest", "mock", "serial", "mock-serial"}

// validate refuses flag combinations that cannot run together.
func (o *options) validate() error {
	switch {
	case o.script != "" && o.check != "":
		return errors.New("--script and --check are mutually exclusive")
	case !slices.Contains(transports, o.transport):
		return fmt.Errorf("--transport %s is not supported; use tcp, rest, mock, serial or mock-serial", o.transport)
	case (o.transport == "serial") != (o.serialCmd != ""):
		return errors.New("--transport serial and --serial-cmd go together")
	case (o.restURL != "" || o.restToken != "") && o.transport != "rest":
		return errors.New("--rest-url and --rest-auth-token need --transport rest")
	case o.ticket != "" && o.role == "":
		return errors.New("--ticket requires --role")
	case o.script != "" && len(o.words) > 0:
		return errors.New("--script takes no command words")
	}
	return o.checkTrace()
}

func (o *options) checkTrace() error {
	switch {
	case (o.recordTrace != "" || o.replayTrace != "") && o.transport != "mock":
		return errors.New("--record-trace and --replay-trace require --transport mock")
	case o.recordTrace != "" && o.replayTrace != "":
		return errors.New("--record-trace and --replay-trace are mutually exclusive")
	case o.replayTrace != "" && (o.script != "" || len(o.words) > 0 || o.role != ""):
		return errors.New("--replay-trace takes no script, role or command words")
	}
	return nil
}

// env is what run takes from the process; tests supply their own.
type env struct {
	getenv func(string) string
	now    func() time.Time
	hive   hive.Options // the mock transport's hive
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return env{getenv: os.Getenv, now: time.Now}.run(ctx, args, stdin, stdout, stderr)
}

// maskWriter hides ticket text (everything after "cohesix-ticket-") in
// what it writes; all of cohsh's stderr goes through it.
type maskWriter struct{ w io.Writer }

func (m maskWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(m.w, ticket.MaskToken(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e env) run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	stderr = maskWriter{stderr}
	o, err := parseFlags(args, e.getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: %v\n", err)
		return exitUsage
	}
	if o.mint {
		return mintTicket(o, e.getenv, e.now(), stdout, stderr)
	}
	if o.check != "" {
		return checkFile(o.check, stdout, stderr)
	}
	sh := &shell{lim: console.ManifestLimits(), json: o.jsonOut, sleep: sleepMs}
	interactive := o.script == "" && len(o.words) == 0
	if o.script == "" {
		sh.follow = stdout
	}
	logw := &redirectWriter{w: io.Discard}
	if interactive {
		logw.set(stderr)
	}
	connect, closeTransport, err := e.transport(ctx, o, logw, interactive)
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: %v\n", err)
		return exitUnreachable
	}
	defer closeTransport()
	sh.connect = connect
	defer sh.close()
	if o.replayTrace != "" {
		return replayTrace(ctx, sh, o.replayTrace, stdout, stderr)
	}
	if o.recordTrace != "" {
		sh.rec = &cohtrace.Trace{}
		defer func() {
			if c := writeTrace(o.recordTrace, sh.rec, stderr); code == exitOK {
				code = c
			}
		}()
	}
	if code := attachRole(ctx, sh, o, stdout, stderr); code != exitOK {
		return code
	}
	switch {
	case o.script != "":
		return runScriptFile(ctx, sh, o.script, stdout, stderr)
	case len(o.words) > 0:
		return oneShot(ctx, sh, o, stdout, stderr)
	}
	sh.interactive = true
	return interact(ctx, sh, stdin, stdout, stderr, logw)
}

// transport returns how the shell dials the hive for --transport, and
// what ends the transport when cohsh exits.
func (e env) transport(ctx context.Context, o options, logw io.Writer, interactive bool) (func(context.Context) (*client.Conn, error), func(), error) {
	switch o.transport {
	case "mock", "mock-serial":
		m, err := newMock(e.hive, o.authToken, logw, interactive)
		if err != nil {
			return nil, nil, fmt.Errorf("start mock hive: %w", err)
		}
		if o.transport == "mock-serial" {
			return m.connectSerial, m.close, nil
		}
		return m.connect, m.close, nil
	case "serial":
		s, err := startSerialExec(ctx, o.serialCmd, logw, o.bootWait)
		if err != nil {
			return nil, nil, fmt.Errorf("serial console: %w (check --serial-cmd)", err)
		}
		return s.connect, s.close, nil
	case "rest":
		return restTransport(o, e.now)
	}
	addr := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	return func(ctx context.Context) (*client.Conn, error) {
		return client.DialOptions(ctx, addr, o.authToken, client.Options{Log: logw, Reconnect: interactive})
	}, func() {}, nil
}

// attachRole attaches as --role (with --ticket) before anything else runs.
func attachRole(ctx context.Context, sh *shell, o options, stdout, stderr io.Writer) int {
	if o.role == "" {
		return exitOK
	}
	words := []string{"attach", o.role}
	if o.ticket != "" {
		words = append(words, o.ticket)
	}
	return report(sh.exec(ctx, strings.Join(words, " ")), stdout, stderr)
}

func sleepMs(ctx context.Context, ms int) error {
	return client.Sleep(ctx, time.Duration(ms)*time.Millisecond)
}

// report prints a result and returns its exit code.
func report(r result, stdout, stderr io.Writer) int {
	for _, l := range r.lines {
		fmt.Fprintln(stdout, l)
	}
	if r.err != nil {
		fmt.Fprintf(stderr, "error: %v\n", r.err)
	}
	return exitCode(r)
}

func exitCode(r result) int {
	var ue *usageError
	switch {
	case r.err != nil && isConnErr(r.err):
		return exitUnreachable
	case errors.As(r.err, &ue):
		return exitUsage
	case r.failed:
		return exitFailed
	}
	return exitOK
}

// readCommands are the one-shot commands --json applies to.
var readCommands = map[string]bool{"cat": true, "ls": true, "tail": true, "log": true}

func oneShot(ctx context.Context, sh *shell, o options, stdout, stderr io.Writer) int {
	line := strings.Join(o.words, " ")
	if !o.jsonOut || !readCommands[o.words[0]] {
		return report(sh.exec(ctx, line), stdout, stderr)
	}
	r := sh.exec(ctx, line)
	if r.err != nil {
		fmt.Fprintf(stderr, "error: %v\n", r.err)
		return exitCode(r)
	}
	out := struct {
		OK    bool     `json:"ok"`
		Ack   string   `json:"ack"`
		Lines []string `json:"lines"`
	}{OK: !r.failed, Ack: r.ack, Lines: []string{}}
	for _, l := range r.lines {
		if l != r.ack && l != console.End {
			out.Lines = append(out.Lines, l)
		}
	}
	b, _ := json.Marshal(out)
	fmt.Fprintln(stdout, string(b))
	return exitCode(r)
}

// loadScript reads and lexes a .coh file; on failure it reports on stderr
// and returns the exit code (usage for an unreadable file, failed for bad
// syntax).
func loadScript(path string, stderr io.Writer) ([]stmt, int) {
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: read script: %v\n", err)
		return nil, exitUsage
	}
	stmts, err := lexScript(string(src))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return nil, exitFailed
	}
	return stmts, exitOK
}

func checkFile(path string, stdout, stderr io.Writer) int {
	stmts, code := loadScript(path, stderr)
	if code != exitOK {
		return code
	}
	fmt.Fprintf(stdout, "%s: ok (%d statements)\n", path, len(stmts))
	return exitOK
}

func runScriptFile(ctx context.Context, sh *shell, path string, stdout, stderr io.Writer) int {
	stmts, code := loadScript(path, stderr)
	if code != exitOK {
		return code
	}
	f := sh.runScript(ctx, stmts, scriptHooks{out: stdout, errw: stderr})
	if f == nil {
		return exitOK
	}
	f.write(stderr)
	if f.connErr {
		return exitUnreachable
	}
	return exitFailed
}

// interact runs the prompt loop until quit or end of input.
func interact(ctx context.Context, sh *shell, stdin io.Reader, stdout, stderr io.Writer, logw *redirectWriter) int {
	readLine, out, restore := lineReader(stdin, stdout)
	defer restore()
	errw := stderr
	if out != stdout {
		// A raw-mode terminal: everything, connection logs included, goes
		// through it so lines end in CR LF and the prompt is redrawn.
		errw = out
		logw.set(out)
		defer logw.set(stderr)
	}
	fmt.Fprintln(out, bannerWelcome)
	fmt.Fprintln(out, bannerDetach)
	stopKeepalive := keepalive(sh)
	defer stopKeepalive()
	for {
		line, err := readLine()
		if err != nil {
			return exitOK
		}
		r := sh.exec(ctx, line)
		for _, l := range r.lines {
			fmt.Fprintln(out, l)
		}
		if r.err != nil {
			fmt.Fprintf(errw, "error: %v\n", r.err)
		}
		if r.quit {
			return exitOK
		}
	}
}

// redirectWriter is a writer whose target can change while connections
// hold it (their logs move onto the raw-mode terminal once it exists).
type redirectWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *redirectWriter) set(w io.Writer) { r.mu.Lock(); r.w = w; r.mu.Unlock() }

func (r *redirectWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w.Write(p)
}

// lineReader reads commands with line editing and history on a terminal,
// or plain lines (prompt printed) otherwise.
func lineReader(stdin io.Reader, stdout io.Writer) (read func() (string, error), out io.Writer, restore func()) {
	in, inOK := stdin.(*os.File)
	_, outOK := stdout.(*os.File)
	if inOK && outOK && term.IsTerminal(int(in.Fd())) {
		if st, err := term.MakeRaw(int(in.Fd())); err == nil {
			t := term.NewTerminal(struct {
				io.Reader
				io.Writer
			}{stdin, stdout}, prompt)
			return t.ReadLine, t, func() { term.Restore(int(in.Fd()), st) }
		}
	}
	sc := bufio.NewScanner(stdin)
	return func() (string, error) {
		fmt.Fprint(stdout, prompt)
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			if err := sc.Err(); err != nil {
				return "", err
			}
			return "", io.EOF
		}
		return sc.Text(), nil
	}, stdout, func() {}
}

// keepalive pings an idle connection every heartbeat interval.
func keepalive(sh *shell) (stop func()) {
	every := time.Duration(generated.ClientPoliciesHeartbeatIntervalMs) * time.Millisecond
	t := time.NewTicker(every)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				if c := sh.conn.Load(); c != nil {
					c.Keepalive(every)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { t.Stop(); close(done) }
}
