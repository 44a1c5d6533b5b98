package nineclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
)

// Kind is the class of a pooled session (spec host-tools §1, M15):
// control for the operator's requests, telemetry for bulk appends, so
// a telemetry backlog never holds a control request back on the client.
type Kind int

const (
	Control Kind = iota
	Telemetry
)

func (k Kind) String() string { return [...]string{"control", "telemetry"}[k] }

// ErrPoolExhausted is every session of a kind busy for longer than the
// retry policy's timeout_ms: the caller gets this deterministic error,
// and the pool's Audit hook one line, instead of an unbounded wait.
var ErrPoolExhausted = errors.New("session pool exhausted")

// ErrRetriesExhausted is an operation that failed max_attempts times.
var ErrRetriesExhausted = errors.New("retries exhausted")

// Retry is the client retry policy (client_policies.retry): attempts
// per operation and a capped exponential back-off between them.
type Retry struct {
	MaxAttempts      int
	Backoff, Ceiling time.Duration
	Timeout          time.Duration // one dial, one operation, and the longest wait for a pooled session
}

// ManifestRetry is client_policies.retry of the compiled manifest.
func ManifestRetry() Retry {
	return Retry{
		MaxAttempts: generated.ClientPoliciesRetryMaxAttempts,
		Backoff:     time.Duration(generated.ClientPoliciesRetryBackoffMs) * time.Millisecond,
		Ceiling:     time.Duration(generated.ClientPoliciesRetryCeilingMs) * time.Millisecond,
		Timeout:     time.Duration(generated.ClientPoliciesRetryTimeoutMs) * time.Millisecond,
	}
}

// PoolConfig says where a Pool's sessions go and how many it keeps.
// Zero sizes take client_policies.cohsh.pool from the manifest.
type PoolConfig struct {
	Addr, Ticket, Uname string
	Control, Telemetry  int
	Retry               Retry // zero: ManifestRetry
	// Audit, if set, gets one line per retry and per exhaustion.
	Audit func(line string)
}

// PoolStats counts what a Pool did, for reports and tests.
type PoolStats struct {
	Dials, Retries, Drops, Exhausted int64
}

// Pool is a bounded set of pipelined Secure9P sessions of each Kind,
// dialled on first use and re-dialled after a connection drop. Each
// session serves one operation at a time; an operation waits for a free
// session at most Retry.Timeout. Safe for concurrent use.
type Pool struct {
	cfg   PoolConfig
	slots [2]chan *Pipeline // a nil entry is a slot not dialled yet
	sizes [2]int

	dials, retries, drops, exhausted atomic.Int64
}

// NewPool makes a pool; nothing is dialled until an operation needs it.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Control <= 0 {
		cfg.Control = generated.ClientPoliciesCohshPoolControlSessions
	}
	if cfg.Telemetry <= 0 {
		cfg.Telemetry = generated.ClientPoliciesCohshPoolTelemetrySessions
	}
	if cfg.Retry.MaxAttempts <= 0 {
		cfg.Retry = ManifestRetry()
	}
	p := &Pool{cfg: cfg, sizes: [2]int{cfg.Control, cfg.Telemetry}}
	for k, n := range p.sizes {
		p.slots[k] = make(chan *Pipeline, n)
		for range n {
			p.slots[k] <- nil
		}
	}
	return p
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Dials: p.dials.Load(), Retries: p.retries.Load(), Drops: p.drops.Load(), Exhausted: p.exhausted.Load()}
}

// Size is the number of sessions the pool keeps of kind k.
func (p *Pool) Size(k Kind) int { return p.sizes[k] }

func (p *Pool) audit(format string, a ...any) {
	if p.cfg.Audit != nil {
		p.cfg.Audit(fmt.Sprintf(format, a...))
	}
}

// acquire takes a session of kind k, dialling the slot if it is empty.
func (p *Pool) acquire(ctx context.Context, k Kind) (*Pipeline, error) {
	var s *Pipeline
	select {
	case s = <-p.slots[k]:
	default:
		t := time.NewTimer(p.cfg.Retry.Timeout)
		defer t.Stop()
		select {
		case s = <-p.slots[k]:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			p.exhausted.Add(1)
			p.audit("pool exhausted kind=%s sessions=%d wait_ms=%d", k, p.sizes[k], p.cfg.Retry.Timeout.Milliseconds())
			return nil, fmt.Errorf("%w: kind=%s sessions=%d", ErrPoolExhausted, k, p.sizes[k])
		}
	}
	if s != nil {
		return s, nil
	}
	s, err := DialPipelineAs(p.cfg.Addr, p.cfg.Ticket, p.cfg.Uname, p.cfg.Retry.Timeout)
	if err != nil {
		p.slots[k] <- nil
		return nil, err
	}
	p.dials.Add(1)
	return s, nil
}

// release puts s back; a broken session is closed and its slot emptied,
// so the next operation dials afresh.
func (p *Pool) release(k Kind, s *Pipeline, broken bool) {
	if broken {
		s.Close()
		s = nil
	}
	p.slots[k] <- s
}

// Close closes every idle session; sessions in use are closed as they
// come back only if the caller closes the pool again.
func (p *Pool) Close() error {
	for k := range p.slots {
		for range len(p.slots[k]) {
			if s := <-p.slots[k]; s != nil {
				s.Close()
			}
			p.slots[k] <- nil
		}
	}
	return nil
}

// IsConnErr reports whether err is the connection failing (a drop, a
// reset, a timeout), after which the hive may or may not have applied
// what was in flight: only an idempotent operation may be sent again.
func IsConnErr(err error) bool {
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &op)
}

// IsBusy reports whether err is the hive refusing for now (EBUSY: a
// queue or tag window full; EAGAIN: the peer throttle). A refusal is a
// reply: the hive applied nothing, so sending again cannot duplicate.
func IsBusy(err error) bool {
	return errors.Is(err, linux.EBUSY) || errors.Is(err, linux.EAGAIN)
}

// Do runs fn on a session of kind k and retries it, at most
// Retry.MaxAttempts times with the capped back-off, after a refusal
// (IsBusy) or a connection drop (IsConnErr; the session is replaced).
// fn must therefore be idempotent: PushSegment is; a plain append to
// /queen/ctl is not, and goes through DoOnce.
func (p *Pool) Do(ctx context.Context, k Kind, fn func(*Pipeline) error) error {
	return p.do(ctx, k, true, fn)
}

// DoOnce is Do for an operation that must not be sent twice: it is
// retried only after a refusal, never after a drop.
func (p *Pool) DoOnce(ctx context.Context, k Kind, fn func(*Pipeline) error) error {
	return p.do(ctx, k, false, fn)
}

func (p *Pool) do(ctx context.Context, k Kind, idempotent bool, fn func(*Pipeline) error) error {
	wait := p.cfg.Retry.Backoff
	for attempt := 1; ; attempt++ {
		s, err := p.acquire(ctx, k)
		dropped := false
		if err == nil {
			// Every operation ends: one the hive does not answer within
			// timeout_ms fails as a drop would (os.ErrDeadlineExceeded).
			s.nc.SetDeadline(time.Now().Add(p.cfg.Retry.Timeout))
			err = fn(s)
			s.nc.SetDeadline(time.Time{})
			dropped = IsConnErr(err)
			p.release(k, s, dropped)
		} else if !errors.Is(err, ErrPoolExhausted) && ctx.Err() == nil {
			dropped = true // the dial failed: nothing was sent
		}
		if dropped {
			p.drops.Add(1)
		}
		again := IsBusy(err) || (dropped && (idempotent || s == nil))
		if err == nil || !again {
			return err
		}
		if attempt >= p.cfg.Retry.MaxAttempts {
			return fmt.Errorf("%w (%d attempts, kind=%s): %w", ErrRetriesExhausted, attempt, k, err)
		}
		p.retries.Add(1)
		p.audit("pool retry kind=%s attempt=%d wait_ms=%d error=%v", k, attempt+1, wait.Milliseconds(), err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, p.cfg.Retry.Ceiling)
	}
}

// Size returns the size of path: one exchange of walk, getattr and (at
// the start of the next) clunk.
func (p *Pipeline) Size(path string) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fid := p.fid()
	defer p.release(fid)
	b := p.batch()
	walk, attr := b.walk(rootFid, fid, Split(path)), b.getattr(fid)
	if err := b.run(); err != nil {
		return 0, err
	}
	if err := firstErr(walk.err, attr.err); err != nil {
		return 0, err
	}
	return attr.size, nil
}

// PushSegment writes one segment of records into a new segment of dev
// under root, through the pool's telemetry sessions, and returns its id.
// It survives a connection drop without duplicating a record: segments
// are offset-checked (a write at a stale offset is refused), so after a
// drop it asks the hive how many bytes the segment holds, which is
// always a whole number of records (each record is one Twrite), and
// sends only the rest from there. A drop while the segment is being
// asked for can leave one empty segment behind; it holds no records.
func (p *Pool) PushSegment(ctx context.Context, root, dev string, seg Segment) (string, error) {
	records := lines(seg.Records)
	id := ""
	sent := 0 // records the hive holds
	err := p.Do(ctx, Telemetry, func(pl *Pipeline) error {
		if err := pl.checkRecords(root+"/"+dev+"/seg", records); err != nil {
			return err
		}
		off := int64(0)
		if id == "" {
			var err error
			if id, err = pl.newSegment(root+"/"+dev, seg.Mime); err != nil {
				id = ""
				return err
			}
		} else {
			size, err := pl.Size(root + "/" + dev + "/seg/" + id)
			if err != nil {
				return err
			}
			k, ok := recordsIn(records, size)
			if !ok {
				return fmt.Errorf("%s/%s/seg/%s holds %d bytes, not a whole number of the records sent", root, dev, id, size)
			}
			sent, off = k, int64(size)
			if sent == len(records) {
				return nil // the drop came after the last record landed
			}
		}
		n, err := pl.Append(root+"/"+dev+"/seg/"+id, off, records[sent:]...)
		sent += recordsWithin(records[sent:], n)
		return err
	})
	return id, err
}

// newSegment asks base/ctl for a new segment of mime and reads its id
// from base/latest, all in one exchange (the fids' clunks ride the
// next), so a pushed segment costs two round trips: this and its records.
func (p *Pipeline) newSegment(base, mime string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := &Ingest{p: p, base: base, ctl: p.fid(), latest: p.fid(), buf: make([]byte, 2*generated.Secure9pWalkComponentMaxBytes)}
	defer p.release(in.ctl)
	defer p.release(in.latest)
	b := p.batch()
	calls := []*call{
		b.walk(rootFid, in.ctl, Split(base+"/ctl")), b.open(in.ctl, p9.WriteOnly),
		b.walk(rootFid, in.latest, Split(base+"/latest")), b.open(in.latest, p9.ReadOnly),
	}
	id := in.askSegment(b, mime)
	if err := b.run(); err != nil {
		return "", err
	}
	if err := firstErr(calls[0].err, calls[1].err, calls[2].err, calls[3].err); err != nil {
		return "", err
	}
	return id()
}

// recordsIn returns how many leading records make exactly size bytes.
func recordsIn(records [][]byte, size uint64) (int, bool) {
	var total uint64
	for i, r := range records {
		if total == size {
			return i, true
		}
		total += uint64(len(r))
	}
	return len(records), total == size
}

// recordsWithin returns how many leading records n bytes cover whole.
func recordsWithin(records [][]byte, n int) int {
	for i, r := range records {
		if n < len(r) {
			return i
		}
		n -= len(r)
	}
	return len(records)
}

// Pool makes a session pool with the session's address, ticket and
// uname; cfg's other fields as NewPool takes them.
func (c *Client) Pool(cfg PoolConfig) *Pool {
	cfg.Addr, cfg.Ticket, cfg.Uname = c.addr, c.tok, c.uname
	return NewPool(cfg)
}
