package spoolfs_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/spoolfs"
)

func open(t *testing.T, dir string, audit *[]string) *spoolfs.Spool {
	t.Helper()
	sp, err := spoolfs.Open(spoolfs.Config{Dir: dir, Entropy: rand.Reader, Now: func() time.Time { return time.UnixMilli(1700000000123) },
		Audit: func(l ...string) { *audit = append(*audit, l...) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

var (
	read  = nstest.Read
	write = nstest.Write
)

func TestConformance(t *testing.T) {
	var audit []string
	sp := open(t, "", &audit)
	nstest.TestProvider(t, ns.Plain(sp.Node()),
		nstest.Lists("", "status", "manifest", "append", "read", "ack"),
		nstest.Content("status", fmt.Sprintf("used_bytes=0\nmax_bytes=%d\nrecords=0\ndropped=0\npressure=0\nmode=%s\nack_cursor=0\n",
			generated.PersistenceSpoolMaxBytes, generated.PersistenceSpoolMode)),
		nstest.Content("read", ""),
		nstest.AppendError("status", "cannot write read-only file /proc/spool/status"),
		nstest.AppendError("read", "cannot write read-only file /proc/spool/read"),
	)
}

// TestStoreAndForward: records appended (one per write, newlines and all)
// read back from the cursor, an ack moves it, and all of it survives a
// restart of the provider on the same state directory.
func TestStoreAndForward(t *testing.T) {
	dir := t.TempDir()
	var audit []string
	d := open(t, dir, &audit).Node()
	for _, r := range []string{"first\n", "second\nline"} {
		if err := write(t, d, "append", r); err != nil {
			t.Fatal(err)
		}
	}
	want := "seq=1 kind=1 ts_ms=1700000000123 len=6\nfirst\n\nseq=2 kind=1 ts_ms=1700000000123 len=11\nsecond\nline\n"
	if got := read(t, d, "read"); got != want {
		t.Fatalf("read = %q, want %q", got, want)
	}
	if err := write(t, d, "ack", "1\n"); err != nil {
		t.Fatal(err)
	}
	d = open(t, dir, &audit).Node() // restart
	if got := read(t, d, "status"); !strings.Contains(got, "\nrecords=2\n") || !strings.Contains(got, "\nack_cursor=1\n") {
		t.Fatalf("status after restart: %q", got)
	}
	if got := read(t, d, "read"); !strings.HasPrefix(got, "seq=2 ") {
		t.Fatalf("read after restart: %q", got)
	}
	if err := write(t, d, "ack", "3\n"); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("ack past the newest record: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, spoolfs.FileName)); err != nil || st.Size() != int64(generated.PersistenceSpoolMaxBytes+2*generated.PersistenceBlockBytes) {
		t.Errorf("device file: %v, %v", st, err)
	}
	if len(audit) != 0 {
		t.Errorf("audit %q with no refusal", audit)
	}
}

// TestRefusalsAudited: a record over max_record_bytes is refused (too
// big) with an audit line and counted in dropped.
func TestRefusalsAudited(t *testing.T) {
	var audit []string
	d := open(t, "", &audit).Node()
	err := write(t, d, "append", string(bytes.Repeat([]byte("x"), generated.PersistenceSpoolMaxRecordBytes+1)))
	if !errors.Is(err, errs.ErrTooBig) {
		t.Fatalf("oversized record: %v", err)
	}
	if len(audit) != 1 || !strings.HasPrefix(audit[0], "spool append refused role=queen reason=too-large bytes=") {
		t.Errorf("audit %q", audit)
	}
	if got := read(t, d, "status"); !strings.Contains(got, "\ndropped=1\n") {
		t.Errorf("status %q", got)
	}
}

// The platform's disk (seL4's virtio-blk) holds the spool in place of a
// state directory: records written through /proc/spool are on it when it
// is opened again, a larger disk keeps its tail unused, and a disk too
// small for the manifest's ring is refused.
func TestPlatformDevice(t *testing.T) {
	bs := generated.PersistenceBlockBytes
	need := int64(2 + generated.PersistenceSpoolMaxBytes/bs) // superblock pair + ring
	disk := blockdev.NewMem(bs, need+4)
	cfg := spoolfs.Config{Device: disk, Entropy: rand.Reader, Now: func() time.Time { return time.UnixMilli(1700000000123) }}
	sp, err := spoolfs.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := sp.Opened(); !strings.HasPrefix(got, "records=0 torn=none open_us=") {
		t.Errorf("Opened on a fresh disk = %q", got)
	}
	if err := write(t, sp.Node(), "append", "reading-001"); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	if !bytes.Equal(disk.Data[need*int64(bs):], make([]byte, 4*bs)) {
		t.Error("the spool wrote past the ring the manifest sizes")
	}
	sp, err = spoolfs.Open(spoolfs.Config{Device: disk, Entropy: rand.Reader, Now: cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if got := read(t, sp.Node(), "read"); got != "seq=1 kind=1 ts_ms=1700000000123 len=11\nreading-001\n" {
		t.Errorf("read after reopening the disk = %q", got)
	}
	if got := sp.Opened(); !strings.HasPrefix(got, "records=1 torn=none ") {
		t.Errorf("Opened after reopening = %q", got)
	}
	if _, err := spoolfs.Open(spoolfs.Config{Device: blockdev.NewMem(bs, need-1), Entropy: rand.Reader, Now: cfg.Now}); err == nil || !strings.Contains(err.Error(), "the manifest sizes") {
		t.Errorf("a disk one block short: %v", err)
	}
}

// TestManifestBinding: the superblock records the manifest that wrote it;
// a restart under another manifest keeps the records, says mismatch in
// /proc/spool/manifest and in one audit line, and the next ack records the running
// manifest.
func TestManifestBinding(t *testing.T) {
	dir := t.TempDir()
	var audit []string
	openAs := func(manifest string) *spoolfs.Spool {
		sp, err := spoolfs.Open(spoolfs.Config{Dir: dir, Entropy: rand.Reader, Manifest: manifest, Now: time.Now,
			Audit: func(l ...string) { audit = append(audit, l...) }})
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	sp := openAs("m1")
	if err := write(t, sp.Node(), "append", "kept"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, sp.Node(), "manifest"); got != "binding=match\nrecorded=m1\nrunning=m1\n" || sp.BindingLine() != "" {
		t.Fatalf("manifest of a fresh spool: %q, %q", got, sp.BindingLine())
	}
	sp.Close()

	sp = openAs("m2")
	defer sp.Close()
	if got := read(t, sp.Node(), "status"); !strings.Contains(got, "\nrecords=1\n") {
		t.Fatalf("status under another manifest: %q", got)
	}
	if got := read(t, sp.Node(), "manifest"); got != "binding=mismatch\nrecorded=m1\nrunning=m2\n" {
		t.Fatalf("manifest under another manifest: %q", got)
	}
	if l := sp.BindingLine(); l != "spool written under manifest=m1 running manifest=m2 records=1" {
		t.Errorf("binding line = %q", l)
	}
	if err := write(t, sp.Node(), "ack", "1\n"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, sp.Node(), "manifest"); got != "binding=match\nrecorded=m2\nrunning=m2\n" {
		t.Errorf("manifest after an ack under m2: %q", got)
	}
}
