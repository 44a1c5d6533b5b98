package hive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/spool"
)

// SpoolName is the governance spool's file name inside the state dir.
const SpoolName = "governance.spool"

// openStore opens dir's governance spool (DECISIONS D9) and hands it and
// its records to q; a torn tail is cut off and reported in the audit log.
func openStore(q *queen.Queen, dir string) (*spool.Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	sp, recs, torn, err := spool.Open(filepath.Join(dir, SpoolName))
	if err != nil {
		return nil, err
	}
	line := ""
	if torn != nil {
		line = fmt.Sprintf("spool torn tail truncated offset=%d dropped_bytes=%d reason=%s", torn.Offset, torn.Dropped, torn.Reason)
	}
	q.UseStore(sp, recs, line)
	return sp, nil
}

// restoreIngest opens dir's ingest spool (DECISIONS D9), hands the
// segments it holds to the queen before any client is served, and makes
// the namespace record every accepted segment and record in it. The spool
// is compacted when it grows past four times the most that ingest can
// hold live (every device at its byte quota).
func (h *Hive) restoreIngest(dir string, cfg queen.IngestConfig) error {
	st, devices, torn, err := OpenIngestStore(dir, 4*int64(cfg.MaxDevices)*int64(cfg.MaxTotalBytes))
	if err != nil {
		return err
	}
	if torn != "" {
		h.q.Audit(torn)
	}
	if len(devices) > 0 {
		if _, err := h.q.Do(context.Background(), queen.IngestRestore{Devices: devices}); err != nil {
			st.Close()
			return fmt.Errorf("restore telemetry ingest: %w", err)
		}
	}
	h.ns.SetIngestStore(st)
	prev := h.closeStore
	h.closeStore = func() error { return errors.Join(prev(), st.Close()) }
	return nil
}
