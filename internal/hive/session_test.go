package hive

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// tickStep in a script delivers one heartbeat tick instead of a line.
const tickStep = "#tick"

// sessionScript is one console conversation a user has: the queen boots
// workers, lets them beat, looks around and is refused; a worker attaches
// and is refused what it may not do. The last line is quit.
func sessionScript(t *testing.T) []string {
	return []string{
		"help",
		"ping",
		"test",
		"bi",
		"ls /",
		"frobnicate",
		"attach queen",
		"ls /",
		"cat /proc/lifecycle/state",
		`spawn {"spawn":"heartbeat","ticks":3}`,
		`spawn {"spawn":"heartbeat","ticks":2}`,
		tickStep,
		tickStep,
		"ls /worker",
		"ls /shard/13/worker",
		"ls /shard/1c/worker",
		"cat /worker/worker-1/telemetry",
		"tail /shard/13/worker/worker-1/telemetry",
		tickStep,
		tickStep,
		"cat /worker/worker-2/telemetry",
		`spawn {"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":1024,"streams":1,"ttl_s":60}}`,
		`spawn {"spawn":"heartbeat"}`,
		`spawn {"spawn":"heartbeat","ticks":1,"kill":"worker-1"}`,
		"kill worker-9",
		"kill worker-2",
		"ls /worker",
		"echo /log/queen.log hello from the queen",
		// A second user line fills the cat summary, so that it never
		// reaches the audit lines, whose transport fields differ in length.
		"echo /log/queen.log and once more, a line long enough to fill the summary",
		"cat /log/queen.log",
		`echo /queen/ctl {"bind":{"from":"/log","to":"/mylog"}}`,
		"ls /mylog",
		"tail /proc/boot",
		"cat /nope",
		"echo /proc/boot nope",
		"attach worker " + workerTicket(t, "worker-1"),
		"cat /worker/worker-1/telemetry",
		`echo /worker/worker-1/telemetry {"x":1}`,
		"cat /queen/ctl",
		"ls /worker",
		"cat /proc/lifecycle/state",
		"log",
		`spawn {"spawn":"heartbeat","ticks":1}`,
		"ping",
		"attach queen",
		"cat /proc/pressure/policy",
		"cat /proc/pressure/quota",
		"cat /proc/pressure/busy",
		"log",
		"quit",
	}
}

// exchange is one step of a transcript: what was sent and what came back.
type exchange struct {
	In  string
	Out []string
}

// endOf reports whether out is a complete reply to in. Payload lines sent
// before the ACK (help text, PONG) never start with OK or ERR; a reply ends
// at its ACK, except a successful streaming verb, which ends at END.
func endOf(in string, out []string) bool {
	verb, _ := console.LookupVerb(strings.Fields(in)[0])
	for i, l := range out {
		switch {
		case strings.HasPrefix(l, "ERR "):
			return true
		case strings.HasPrefix(l, "OK "):
			return !verb.Streaming() || (len(out) > i+1 && out[len(out)-1] == console.End)
		}
	}
	return false
}

// runTCP drives the script over the framed TCP console (net.Pipe).
func runTCP(t *testing.T, h *testHive, script []string) []exchange {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); h.ServeConsole(server) }()
	defer func() { client.Close(); <-done }()

	lim := console.ManifestLimits()
	fr := console.NewFrameReader(client, lim)
	send := func(line string) {
		t.Helper()
		if _, err := client.Write(console.AppendFrame(nil, line)); err != nil {
			t.Fatalf("write frame %q: %v", line, err)
		}
	}
	send(console.AuthLine(generated.ConsoleAuthToken))
	if got, err := fr.Next(false); err != nil || got != "OK AUTH" {
		t.Fatalf("AUTH reply = %q, %v; want OK AUTH", got, err)
	}
	var tr []exchange
	for _, in := range script {
		if in == tickStep {
			h.tick()
			tr = append(tr, exchange{In: in})
			continue
		}
		send(in)
		var out []string
		for !endOf(in, out) {
			l, err := fr.Next(true)
			if err != nil {
				t.Fatalf("reply to %q after %q: %v", in, out, err)
			}
			out = append(out, l)
		}
		tr = append(tr, exchange{In: in, Out: out})
	}
	if l, err := fr.Next(true); !errors.Is(err, io.EOF) {
		t.Errorf("after the script: read %q, %v; want the server to close (EOF)", l, err)
	}
	return withoutTransport(tr)
}

// runSerial drives the script over the serial console (io.Pipe) and strips
// the prompt that follows every reply.
func runSerial(t *testing.T, h *testHive, script []string) []exchange {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := h.ServeSerial(inR, outW, true)
		outW.Close()
		done <- err
	}()
	buf := make([]byte, 4096)
	var pending []byte
	reply := func() []string {
		t.Helper()
		for !bytes.HasSuffix(pending, []byte(SerialPrompt)) {
			n, err := outR.Read(buf)
			if err != nil {
				t.Fatalf("serial read after %q: %v", pending, err)
			}
			pending = append(pending, buf[:n]...)
		}
		text := string(bytes.TrimSuffix(pending, []byte(SerialPrompt)))
		pending = nil
		return splitLines([]byte(text))
	}
	if first := reply(); len(first) != 0 {
		t.Fatalf("serial greeting = %q; want only the prompt", first)
	}
	var tr []exchange
	for _, in := range script {
		if in == tickStep {
			h.tick()
			tr = append(tr, exchange{In: in})
			continue
		}
		if _, err := io.WriteString(inW, in+"\n"); err != nil {
			t.Fatalf("serial write %q: %v", in, err)
		}
		tr = append(tr, exchange{In: in, Out: reply()})
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Errorf("ServeSerial = %v; want nil at end of input", err)
	}
	if rest, _ := io.ReadAll(outR); len(rest) != 0 {
		t.Errorf("serial output after the script = %q; want none", rest)
	}
	return withoutTransport(tr)
}

// transportFields matches what audit lines say about the connection, which
// differs between transports by design (issue 12).
var transportFields = regexp.MustCompile(` transport=\S+( remote=\S+)?`)

// withoutTransport replaces the transport fields of every line with one
// placeholder, so transcripts of different transports compare equal.
func withoutTransport(tr []exchange) []exchange {
	for i := range tr {
		for j, l := range tr[i].Out {
			tr[i].Out[j] = transportFields.ReplaceAllString(l, " transport=<t>")
		}
	}
	return tr
}

func render(tr []exchange) []byte {
	var b bytes.Buffer
	for _, e := range tr {
		if e.In == tickStep {
			b.WriteString("# tick\n")
			continue
		}
		b.WriteString("> " + e.In + "\n")
		for _, l := range e.Out {
			b.WriteString(l + "\n")
		}
	}
	return b.Bytes()
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("transcript differs from %s (-want +got); review, then go test -update:\n%s", path, diff)
	}
}

func TestTransportsAgree(t *testing.T) {
	script := sessionScript(t)
	tcp := runTCP(t, newTestHive(t), script)
	serial := runSerial(t, newTestHive(t), script)
	if diff := cmp.Diff(tcp, serial); diff != "" {
		t.Errorf("TCP and serial replies differ (-tcp +serial):\n%s", diff)
	}
	checkGolden(t, "session.golden", render(tcp))
}

func TestSessionGOMAXPROCS(t *testing.T) {
	if *update {
		t.Skip("golden is written by TestTransportsAgree")
	}
	script := sessionScript(t)
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	var got [][]byte
	for _, n := range []int{1, 4} {
		runtime.GOMAXPROCS(n)
		got = append(got, render(runTCP(t, newTestHive(t), script)))
		got = append(got, render(runSerial(t, newTestHive(t), script)))
	}
	for i := 1; i < len(got); i++ {
		if diff := cmp.Diff(string(got[0]), string(got[i])); diff != "" {
			t.Errorf("run %d differs from run 0 (-first +this):\n%s", i, diff)
		}
	}
	checkGolden(t, "session.golden", got[0])
}

// TestSerialQuitKeepsConsole checks that quit on serial detaches but the
// console keeps answering, while TCP closes (console.md §10).
func TestSerialQuitKeepsConsole(t *testing.T) {
	h := newTestHive(t)
	tr := runSerial(t, h, []string{"attach queen", "quit", "ls /", "ping"})
	want := []exchange{
		{"attach queen", []string{"OK ATTACH role=queen"}},
		{"quit", []string{"OK QUIT"}},
		{"ls /", []string{"ERR LS reason=policy detail=unauthenticated"}},
		{"ping", []string{"PONG", "OK PING reply=pong"}},
	}
	if diff := cmp.Diff(want, tr); diff != "" {
		t.Errorf("serial transcript mismatch (-want +got):\n%s", diff)
	}
	log := h.q.Snapshot().Log
	if !containsLine(log, "console: detach role=queen transport=serial") {
		t.Errorf("log = %q; want the serial detach audited", log)
	}
}

func TestTCPAuthRefused(t *testing.T) {
	h := newTestHive(t)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); h.ServeConsole(server) }()
	defer func() { client.Close(); <-done }()
	if _, err := client.Write(console.AppendFrame(nil, console.AuthLine("wrong"))); err != nil {
		t.Fatal(err)
	}
	fr := console.NewFrameReader(client, console.ManifestLimits())
	got, err := fr.Next(false)
	if err != nil || !strings.HasPrefix(got, "ERR AUTH reason=") {
		t.Errorf("reply to a bad AUTH = %q, %v; want ERR AUTH reason=...", got, err)
	}
	if l, err := fr.Next(false); !errors.Is(err, io.EOF) {
		t.Errorf("after a refused AUTH: read %q, %v; want EOF", l, err)
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
