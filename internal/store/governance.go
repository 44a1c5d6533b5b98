// Package store holds the root task's durable state in the state
// directory (DECISIONS D9): the governance spool the queen commits every
// acknowledged log line, worker record and governance decision to (group
// commit, compaction with one archive generation), and the telemetry ingest
// spool. Both are internal/spool files; every record is fsynced before the
// writer is answered. Without a state directory but with a disk (seL4's
// virtio-blk) both are internal/spool device spools on regions of it
// (DECISIONS P105-P107).
package store

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/spool"
)

// SpoolName is the governance spool's file name inside the state dir. It
// also holds every /log/queen.log line (DECISIONS, log spool).
const SpoolName = "governance.spool"

// ArchiveName is the previous generation of the spool, kept by the last
// compaction: the log lines older than the live spool's.
const ArchiveName = SpoolName + ".1"

// logSpoolRings is how many full rings of log lines (queen.log_ring_lines
// lines of queen.log_line_max_bytes) the live spool takes before it is
// compacted: the durable log then reaches back between one and two such
// spans, the archive being the older one.
const logSpoolRings = 16

// LogCompactBytes is the compaction threshold for a queen configuration:
// log record bytes written since the last compaction.
func LogCompactBytes(cfg queen.Config) int64 {
	return logSpoolRings * int64(cfg.LogRingLines) * int64(cfg.LogLineMaxBytes)
}

// govSpool is the queen's store: the spool, compacted (CompactRecords)
// once the log lines written since the last compaction pass compactAt
// bytes, keeping the newest ring of lines and archiving the rest.
type govSpool struct {
	sp        *spool.Spool
	archive   string
	compactAt int64
	keepLog   int
	logBytes  int64
	// sizeAt is the spool's size after the last compaction (see due).
	sizeAt int64
}

// Append is the queen's durable write; a compaction failure does not
// undo it (the records are already synced) and is retried once the log
// has grown by another threshold.
func (g *govSpool) Append(records ...[]byte) error {
	if err := g.sp.Append(records...); err != nil {
		return err
	}
	g.count(records)
	if g.due() {
		keep := func(r [][]byte) [][]byte { return queen.CompactRecords(r, g.keepLog) }
		// Whatever the outcome, wait for another threshold's worth of log
		// before trying again: a failing disk must not cost two fsyncs of
		// the whole spool on every commit. The records above are synced.
		_ = g.sp.Compact(g.archive, keep)
		g.logBytes, g.sizeAt = 0, g.sp.Size()
	}
	return nil
}

// due reports whether a compaction is due: after compactAt bytes of log
// lines, or, on a bounded medium (a device spool's half), at three
// quarters full, which records compaction keeps can reach too; then only
// once per further quarter, so a spool full of them is not rewritten on
// every commit.
func (g *govSpool) due() bool {
	if g.logBytes > g.compactAt {
		return true
	}
	c := g.sp.Capacity()
	return c > 0 && g.sp.Size() > c*3/4 && g.sp.Size()-g.sizeAt > c/4
}

func (g *govSpool) count(records [][]byte) {
	for _, r := range records {
		if queen.IsLogRecord(r) {
			g.logBytes += int64(len(r))
		}
	}
}

// ReadLog returns the durable /log/queen.log of the state dir dir, oldest
// line first: the archive, then the live spool, each line once. It is how
// an operator reads lines older than the ring (coh log --state-dir). A
// compaction between the two reads shows as a gap in the line numbers; the
// read is then repeated (a bounded number of times).
func ReadLog(dir string) ([]queen.LogLine, error) {
	var log []queen.LogLine
	for range readLogTries {
		var gens [][]queen.LogLine
		for _, name := range []string{ArchiveName, SpoolName} {
			recs, err := spool.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			gens = append(gens, queen.LogLines(recs))
		}
		log = queen.MergeLog(gens...)
		if !raced(gens[0], gens[1]) {
			break
		}
	}
	return log, nil
}

// readLogTries bounds ReadLog's retries against a running hive's
// compactions (each needs a ring's worth of new lines in between).
const readLogTries = 3

// raced reports whether the live generation starts after a gap past the
// archive: a compaction swapped the files between the two reads.
func raced(archive, live []queen.LogLine) bool {
	return len(archive) > 0 && len(live) > 0 && live[0].N > archive[len(archive)-1].N+1
}

// OpenGovernance opens dir's governance spool (DECISIONS D9) and hands it and
// its records to q; a torn tail is cut off and reported in the audit log.
func OpenGovernance(q *queen.Queen, dir string) (*spool.Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	sp, recs, torn, err := spool.Open(filepath.Join(dir, SpoolName))
	if err != nil {
		return nil, err
	}
	useGovernance(q, sp, recs, torn, filepath.Join(dir, ArchiveName))
	return sp, nil
}

// OpenGovernanceDevice is OpenGovernance on a device region (a disk and no
// state dir: seL4): the archive is the region's other half.
func OpenGovernanceDevice(q *queen.Queen, d blockdev.Device) (*spool.Spool, error) {
	sp, recs, torn, err := spool.OpenDevice(d)
	if err != nil {
		return nil, fmt.Errorf("governance spool device: %w", err)
	}
	useGovernance(q, sp, recs, torn, "")
	return sp, nil
}

func useGovernance(q *queen.Queen, sp *spool.Spool, recs [][]byte, torn *spool.Torn, archive string) {
	cfg := q.Config()
	line := ""
	if torn != nil {
		line = fmt.Sprintf("spool torn tail truncated offset=%d dropped_bytes=%d reason=%s", torn.Offset, torn.Dropped, torn.Reason)
	}
	compactAt := LogCompactBytes(cfg)
	if c := sp.Capacity(); c > 0 {
		// A half's room bounds the log between compactions: at half of
		// it, the kept ring and the governance records fit the other
		// half (persistence.governance_bytes is sized for it).
		compactAt = min(compactAt, c/2)
	}
	g := &govSpool{sp: sp, archive: archive, compactAt: compactAt, keepLog: cfg.LogRingLines, sizeAt: sp.Size()}
	g.count(recs)
	q.UseStore(g, recs, line)
}

// ReadLogDevice is ReadLog for a governance spool on a device region:
// the archive half, then the live one.
func ReadLogDevice(d blockdev.Device) ([]queen.LogLine, error) {
	archive, live, err := spool.ReadDevice(d)
	if err != nil {
		return nil, err
	}
	return queen.MergeLog(queen.LogLines(archive), queen.LogLines(live)), nil
}
