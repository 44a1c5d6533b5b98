package cohverb

import (
	"context"
	"slices"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
)

// FollowPollMs is how often `tail -f` asks the hive again
// (client_policies.cohsh.tail.poll_ms_default).
const FollowPollMs = generated.ClientPoliciesCohshTailPollMsDefault

// Follow is `tail -f PATH`, cohsh's and SwarmUI's console panel's: it
// sends TAIL path through do, emits the first answer's ack line, then
// each line once, and asks again after sleep(FollowPollMs), until ctx
// ends, sleep or emit fails (nil, nil) or the hive refuses (the refusal's
// lines: the worker was killed). The server's tail is a snapshot (spec
// console §5); following is the client's job.
func Follow(ctx context.Context, path string, do func(context.Context, string) (client.Response, error),
	sleep func(context.Context, int) error, emit func(string) error) ([]string, error) {
	var last []string
	first := true
	for {
		resp, err := do(ctx, string(console.Tail)+" "+path)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, err
		}
		if !resp.HasAck || !resp.Ack.OK {
			return resp.Raw, nil
		}
		var out []string
		if first {
			out, first = append(out, resp.AckLine()), false
		}
		out = append(out, NewLines(last, resp.Lines)...)
		for _, l := range out {
			if emit(l) != nil {
				return nil, nil
			}
		}
		last = resp.Lines
		if sleep(ctx, FollowPollMs) != nil {
			return nil, nil
		}
	}
}

// NewLines returns the lines of cur not already shown in prev. The ring
// may have dropped old lines, so it looks for the longest suffix of prev
// that is a prefix of cur.
func NewLines(prev, cur []string) []string {
	for k := min(len(prev), len(cur)); k > 0; k-- {
		if slices.Equal(prev[len(prev)-k:], cur[:k]) {
			return cur[k:]
		}
	}
	return cur
}
