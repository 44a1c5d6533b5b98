package hive

import (
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
