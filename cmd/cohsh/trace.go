package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/cohtrace"
)

// Trace record/replay (spec console §11, milestone 20g). A recording keeps
// every console exchange the shell makes: the request line as the frame's
// request, every reply line (ACK, payload, END) joined by newlines as its
// response, and the ACK lines in order. Replay decodes and verifies the
// trace before sending anything, runs the requests against a fresh mock
// hive, prints the replayed exchanges and fails at the first response or
// ACK that is not byte-identical to the recording. Only sessions whose
// replies do not depend on wall time (attach back-off delays, *_ms files,
// heartbeats) replay; the mock hive in tests never ticks.

// record appends one exchange to the recording, if there is one.
func (sh *shell) record(line string, resp client.Response) {
	if sh.rec == nil {
		return
	}
	sh.rec.Frames = append(sh.rec.Frames, cohtrace.Frame{Req: []byte(line), Resp: []byte(strings.Join(resp.Raw, "\n"))})
	if resp.HasAck {
		sh.rec.Acks = append(sh.rec.Acks, resp.AckLine())
	}
}

// writeTrace seals the recording into path.
func writeTrace(path string, t *cohtrace.Trace, stderr io.Writer) int {
	b, err := cohtrace.Encode(*t, cohtrace.DefaultLimits())
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: record-trace %s: %v\n", path, err)
		return exitFailed
	}
	return exitOK
}

// replayTrace re-runs the trace at path on sh (a fresh mock hive).
func replayTrace(ctx context.Context, sh *shell, path string, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: replay-trace %s: %v\n", path, err)
		return exitUsage
	}
	t, err := cohtrace.Decode(data, cohtrace.DefaultLimits())
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: replay-trace %s rejected: %v\n", path, err)
		return exitFailed
	}
	var acks []string
	for i, f := range t.Frames {
		resp, err := sh.wire(ctx, string(f.Req))
		if err != nil && len(resp.Raw) == 0 {
			fmt.Fprintf(stderr, "cohsh: replay-trace: frame %d %q: %v\n", i, f.Req, err)
			return exitFailed
		}
		got := strings.Join(resp.Raw, "\n")
		fmt.Fprintf(stdout, "> %s\n", f.Req)
		if got != "" {
			fmt.Fprintln(stdout, got)
		}
		if got != string(f.Resp) {
			fmt.Fprintf(stderr, "cohsh: replay-trace: frame %d %q diverged\nrecorded: %q\nreplayed: %q\n", i, f.Req, f.Resp, got)
			return exitFailed
		}
		if resp.HasAck {
			acks = append(acks, resp.AckLine())
		}
	}
	if strings.Join(acks, "\n") != strings.Join(t.Acks, "\n") {
		fmt.Fprintf(stderr, "cohsh: replay-trace: ACK sequence diverged\nrecorded: %q\nreplayed: %q\n", t.Acks, acks)
		return exitFailed
	}
	fmt.Fprintf(stdout, "replay ok frames=%d acks=%d\n", len(t.Frames), len(acks))
	return exitOK
}
