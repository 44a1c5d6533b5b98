package fleetbench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// ProbePath is the file the console probe reads.
const ProbePath = "/proc/lifecycle/state"

// NineHive is a hive reached the way users reach it: a queen Secure9P
// session for /queen/ctl, /worker and the rings, an attached queen
// console session for the probe, and one Secure9P session per worker
// with its own ticket.
type NineHive struct {
	Queen *nineclient.Client
	// Control, if set, carries spawn and kill: pooled control sessions
	// that resend a /queen/ctl line the hive refused (EBUSY), never one
	// a drop left in doubt (Pool.DoOnce).
	Control    *nineclient.Pool
	Console    *client.Conn // attached as queen
	Addr       string       // Secure9P address for the worker sessions
	Timeout    time.Duration
	Msize      uint32                          // a worker session's msize; 0 is secure9p.msize
	MintWorker func(id string) (string, error) // a worker-heartbeat ticket for id
	Frames     string                          // telemetry.frame_schema
}

// Schema implements Hive.
func (n *NineHive) Schema() string { return n.Frames }

// SpawnLine is the /queen/ctl line for one heartbeat worker with b.
func SpawnLine(b Budget) []byte {
	type budget struct {
		TTLs uint64 `json:"ttl_s"`
		Ops  uint64 `json:"ops"`
	}
	line, _ := json.Marshal(struct {
		Spawn  string `json:"spawn"`
		Ticks  uint64 `json:"ticks"`
		Budget budget `json:"budget"`
	}{"heartbeat", b.Ticks, budget{b.TTLs, b.Ops}})
	return line
}

// Spawn implements Hive.
func (n *NineHive) Spawn(ctx context.Context, b Budget) error {
	return n.ctl(ctx, SpawnLine(b))
}

// ctl writes one /queen/ctl line, through Control when it is set.
func (n *NineHive) ctl(ctx context.Context, line []byte) error {
	if n.Control == nil {
		_, err := n.Queen.Append(generated.ClientPathsQueenCtl, 0, line)
		return err
	}
	return n.Control.DoOnce(ctx, nineclient.Control, func(pl *nineclient.Pipeline) error {
		_, err := pl.Append(generated.ClientPathsQueenCtl, 0, line)
		return err
	})
}

// Kill implements Hive.
func (n *NineHive) Kill(ctx context.Context, id string) error {
	line, _ := json.Marshal(struct {
		Kill string `json:"kill"`
	}{id})
	return n.ctl(ctx, line)
}

// Workers implements Hive.
func (n *NineHive) Workers(context.Context) ([]string, error) { return n.Queen.List("/worker") }

func telemetryPath(id string) string { return "/worker/" + id + "/telemetry" }

// TelemetrySize implements Hive.
func (n *NineHive) TelemetrySize(id string) (uint64, error) {
	st, err := n.Queen.Stat(telemetryPath(id))
	return st.Size, err
}

// TelemetryRead implements Hive.
func (n *NineHive) TelemetryRead(id string, off uint64) ([]byte, error) {
	return n.Queen.ReadFrom(telemetryPath(id), int64(off), 0)
}

// Probe implements Hive: one console cat of ProbePath.
func (n *NineHive) Probe(ctx context.Context) error {
	resp, err := n.Console.DoContext(ctx, string(console.Cat)+" "+ProbePath)
	if err != nil {
		return err
	}
	if !resp.HasAck || !resp.Ack.OK {
		if r, _ := resp.Ack.Field("reason"); r == "busy" {
			return fmt.Errorf("console: %s: %w", resp.AckLine(), linux.EBUSY)
		}
		return fmt.Errorf("console: %s", resp.AckLine())
	}
	return nil
}

// Attach implements Hive: a Secure9P session with a ticket minted for id.
func (n *NineHive) Attach(_ context.Context, id string, mode Mode) (Session, error) {
	tok, err := n.MintWorker(id)
	if err != nil {
		return nil, fmt.Errorf("mint a worker-heartbeat ticket: %w", err)
	}
	msize := n.Msize
	if msize == 0 {
		msize = generated.Secure9pMsize
	}
	cl, err := nineclient.DialMsize(n.Addr, tok, msize, n.Timeout)
	if err != nil {
		return nil, err
	}
	path := telemetryPath(id)
	if mode == ModeReopen {
		return reopen{cl, path}, nil
	}
	f, err := cl.Walk(path)
	if err == nil {
		if _, _, err = f.Open(p9.WriteOnly); err != nil {
			f.Close()
		}
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &keepOpen{cl: cl, f: f}, nil
}

// reopen walks, opens, writes and clunks for every heartbeat.
type reopen struct {
	cl   *nineclient.Client
	path string
}

func (s reopen) Append(rec []byte) error {
	_, err := s.cl.Append(s.path, 0, rec)
	return err
}

func (s reopen) Close() error { return s.cl.Close() }

// keepOpen writes each heartbeat on one open fid.
type keepOpen struct {
	cl *nineclient.Client
	f  p9.File
}

func (s *keepOpen) Append(rec []byte) error {
	n, err := s.f.WriteAt(rec, 0)
	if err == nil && n < len(rec) {
		err = fmt.Errorf("short write %d of %d", n, len(rec))
	}
	return err
}

func (s *keepOpen) Close() error { return s.cl.Close() }
