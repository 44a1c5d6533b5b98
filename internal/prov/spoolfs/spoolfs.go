// Package spoolfs is the /proc/spool provider (milestone 27): the hive's
// store-and-forward spool (internal/blockspool) exposed only as files.
//
//	status  read-only: used_bytes max_bytes records dropped pressure mode ack_cursor (21d), a line each
//	manifest read-only: binding=match|mismatch|none, the recorded and the running fingerprint
//	append  write-only: one record per write
//	read    read-only: the records after the ack cursor, payloads up to
//	        persistence.spool.max_record_bytes in all (at least one record)
//	ack     write-only: a line with a seq moves the cursor to it
//
// The spool lives on a block device: the platform's disk when it has one
// (seL4's virtio-blk), else a file under the state directory, or a sparse
// memory device without one. Every append and ack is durable
// before the write returns. Refusals are audited.
package spoolfs

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/blockspool"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
)

// FileName is the spool's device file in the state directory.
const FileName = "spool.blk"

// Kind is the record kind of a /proc/spool/append write.
const Kind = 1

// Config is what the provider needs.
type Config struct {
	Dir     string          // state directory; "" keeps the spool in memory
	Device  blockdev.Device // the platform's disk, used before Dir; Close closes it
	Entropy io.Reader       // the format's nonce
	// Manifest is the running manifest's fingerprint, which every
	// superblock write records (milestone 27's identity binding).
	Manifest string
	Now      func() time.Time
	Audit    func(lines ...string)
}

// Spool is the open spool behind /proc/spool.
type Spool struct {
	cfg Config
	mu  sync.Mutex // the spool is single-goroutine; sessions are not
	dev blockdev.Device
	own blockdev.Device // what Close closes (dev may be a Region of it)
	s   *blockspool.Spool
	// opened is how long Open (the recovery walk included) took.
	opened time.Duration
}

// Blocks is the size of the spool's device in persistence.block_bytes
// blocks: the superblock pair and persistence.spool.max_bytes of ring.
func Blocks() int64 {
	return int64(blockspool.SuperBlocks + generated.PersistenceSpoolMaxBytes/generated.PersistenceBlockBytes)
}

// Open opens (or formats) the spool the manifest sizes.
func Open(cfg Config) (*Spool, error) {
	dev, own, err := blockdev.OpenStore(cfg.Device, cfg.Dir, FileName, generated.PersistenceBlockBytes, Blocks(), "persistence.block_bytes, persistence.spool.max_bytes")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	s, err := blockspool.Open(dev, blockspool.Config{Mode: generated.PersistenceSpoolMode, MaxRecordBytes: generated.PersistenceSpoolMaxRecordBytes, Manifest: cfg.Manifest}, cfg.Entropy)
	if err != nil {
		own.Close()
		return nil, fmt.Errorf("spool %s: %w", cfg.Dir, err)
	}
	return &Spool{cfg: cfg, dev: dev, own: own, s: s, opened: time.Since(start)}, nil
}

// RecoveryLine is the audit line for a torn or corrupt tail that Open
// ignored, "" for a clean open. The hive writes it once its queen runs
// (Open comes before).
func (sp *Spool) RecoveryLine() string {
	r := sp.s.Recovered()
	if r.Stop == "" {
		return ""
	}
	return fmt.Sprintf("spool torn tail ignored records=%d scanned_bytes=%d reason=%s", r.Records, r.Scanned, r.Stop)
}

// Opened says what Open found: "records=<n> torn=<reason>|none
// open_us=<µs>", the time on the platform's clock (time.Now: the Go
// runtime's, the kernel's counter on seL4 when it is exported).
func (sp *Spool) Opened() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	torn := sp.s.Recovered().Stop
	if torn == "" {
		torn = "none"
	}
	return fmt.Sprintf("records=%d torn=%s open_us=%d", sp.s.Status().Records, torn, sp.opened.Microseconds())
}

// Close closes the device.
func (sp *Spool) Close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.own.Close()
}

// Status renders /proc/spool/status, one field per line (a console cat
// summary shows the lines that fit, newest first).
func (sp *Spool) Status() []byte {
	sp.mu.Lock()
	st := sp.s.Status()
	sp.mu.Unlock()
	return fmt.Appendf(nil, "used_bytes=%d\nmax_bytes=%d\nrecords=%d\ndropped=%d\npressure=%d\nmode=%s\nack_cursor=%d\n",
		st.UsedBytes, st.MaxBytes, st.Records, st.Dropped, st.Pressure, st.Mode, st.AckCursor)
}

// Manifest renders /proc/spool/manifest: the binding, then the
// fingerprint the superblock records and the running one.
func (sp *Spool) Manifest() []byte {
	b := sp.Binding()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return fmt.Appendf(nil, "binding=%s\nrecorded=%s\nrunning=%s\n", b, auditline.Field(sp.s.Manifest()), sp.cfg.Manifest)
}

// Binding is how the spool's superblock relates to the running manifest:
// "match", "mismatch" (written under another; the next ack or reclaim
// records this one) or "none" (it records none).
func (sp *Spool) Binding() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	switch m := sp.s.Manifest(); {
	case m == "":
		return "none"
	case m == sp.cfg.Manifest:
		return "match"
	}
	return "mismatch"
}

// BindingLine is the audit line for a spool whose superblock was written
// under another manifest, "" otherwise. The hive writes it once its queen
// runs.
func (sp *Spool) BindingLine() string {
	if sp.Binding() != "mismatch" {
		return ""
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return fmt.Sprintf("spool written under manifest=%s running manifest=%s records=%d", auditline.Field(sp.s.Manifest()), sp.cfg.Manifest, sp.s.Status().Records)
}

// Read renders /proc/spool/read: per record a header line
// "seq=<n> kind=<k> ts_ms=<ms> len=<n>", then the payload and a newline.
func (sp *Spool) Read() ([]byte, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	recs, err := sp.s.Read(sp.s.Status().AckCursor, generated.PersistenceSpoolMaxRecordBytes)
	if err != nil {
		return nil, errs.New(errs.ErrInvalid, "spool read: %v", err)
	}
	var b []byte
	for _, r := range recs {
		b = fmt.Appendf(b, "seq=%d kind=%d ts_ms=%d len=%d\n", r.Seq, r.Kind, r.TS, len(r.Payload))
		b = append(append(b, r.Payload...), '\n')
	}
	return b, nil
}

// Append spools one record.
func (sp *Spool) Append(c ns.Caller, p []byte) (int, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	_, err := sp.s.Append(Kind, sp.cfg.Now().UnixMilli(), p)
	if err != nil {
		reason, class := "error", errs.ErrInvalid
		switch {
		case errors.Is(err, blockspool.ErrTooLarge):
			reason, class = "too-large", errs.ErrTooBig
		case errors.Is(err, blockspool.ErrFull):
			reason, class = "full", errs.ErrQuota
		}
		sp.audit(fmt.Sprintf("spool append refused role=%s reason=%s bytes=%d mode=%s", c.Identity().Role, reason, len(p), generated.PersistenceSpoolMode))
		return 0, errs.New(class, "spool append: %v", err)
	}
	return len(p), nil
}

// Ack moves the cursor to the seq on line.
func (sp *Spool) Ack(line []byte) error {
	seq, err := strconv.ParseUint(strings.TrimSpace(string(line)), 10, 64)
	if err != nil {
		return errs.New(errs.ErrInvalid, "spool ack: %q is not a record seq", line)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := sp.s.Ack(seq); err != nil {
		return errs.New(errs.ErrInvalid, "spool ack: %v", err)
	}
	return nil
}

func (sp *Spool) audit(line string) {
	if sp.cfg.Audit != nil {
		sp.cfg.Audit(line)
	}
}

// Node is the /proc/spool directory.
func (sp *Spool) Node() ns.Node {
	return ns.Static{DirOps: ns.DirOps{Path: "/proc/spool"}, Entries: []ns.Entry{
		{Name: "status", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/spool/status"}, Render: sp.Status}},
		{Name: "manifest", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/spool/manifest"}, Render: sp.Manifest}},
		{Name: "append", Node: appendFile{sp: sp}},
		{Name: "read", Node: readFile{ReadOnly: ns.ReadOnly{Path: "/proc/spool/read"}, Rendered: ns.Rendered{Kind: ns.KindReadOnly, Render: sp.Read}}},
		{Name: "ack", Node: ns.LineCtl{Kind: ns.KindAppend, Render: func() []byte { return nil },
			Submit: func(_ ns.Caller, line []byte, _ int64) error { return sp.Ack(line) }}},
	}}
}

type readFile struct {
	ns.NotDir
	ns.ReadOnly
	ns.Rendered
}

// appendFile takes each write whole as one record (not split at lines:
// a record's payload may hold any bytes); it reads empty.
type appendFile struct {
	ns.NotDir
	sp *Spool
}

func (appendFile) Stat() (ns.Stat, error)                               { return ns.Stat{Kind: ns.KindAppend}, nil }
func (appendFile) ReadAt(p []byte, off int64) (int, error)              { return ns.ReadBytes(nil, p, off) }
func (f appendFile) Append(c ns.Caller, p []byte, _ int64) (int, error) { return f.sp.Append(c, p) }
