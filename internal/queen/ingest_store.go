package queen

import (
	"context"
	"fmt"
	"sync"

	"github.com/cohesix/cohesix/internal/errs"
)

// IngestStore is the queen's durable storage for telemetry ingest
// (DECISIONS D9): Record must make an accepted outcome durable before it
// returns. internal/store's ingest spool is one; the governance records go
// to the queen's Store. The queen owns both: providers reach storage only
// through the queen's commands.
type IngestStore interface {
	Record(o IngestOutcome) error
}

// ingestStorage orders ingest commands with their records: a command and
// the write of its outcome run under mu, so the store sees outcomes in the
// order the queen applied them (two appends to one segment replay in that
// order).
type ingestStorage struct {
	mu sync.Mutex
	st IngestStore // nil keeps segments in memory
}

// UseIngestStore makes the queen record every accepted telemetry ingest
// outcome in st before the writer is answered. Call it before serving.
func (q *Queen) UseIngestStore(st IngestStore) { q.ingest.st = st }

// DoIngest is DoQueued for a telemetry ingest command (IngestCtl,
// IngestAppend): with an ingest store, the outcome is recorded before it
// returns, and the next ingest command cannot pass this one until it is.
// A store that fails refuses the write as busy, with an audit line.
func (q *Queen) DoIngest(ctx context.Context, c Cmd, queued func()) (Result, error) {
	if q.ingest.st == nil {
		return q.DoQueued(ctx, c, queued)
	}
	q.ingest.mu.Lock()
	defer q.ingest.mu.Unlock()
	r, err := q.DoQueued(ctx, c, queued)
	if err != nil || r.Ingest == nil {
		return r, err
	}
	if err := q.ingest.st.Record(*r.Ingest); err != nil {
		q.Audit(fmt.Sprintf("telemetry ingest persist failed device=%s seg_id=%s", r.Ingest.Device, r.Ingest.Segment))
		return r, errs.New(errs.ErrBusy, "telemetry spool unavailable")
	}
	return r, nil
}
