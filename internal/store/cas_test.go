package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

func name(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestCASBounds: partial uploads are bounded in count and bytes (the
// least recently appended makes room), resume only at their end, and
// commits stop at the byte budget.
func TestCASBounds(t *testing.T) {
	c, err := OpenCAS(CASOptions{Dir: t.TempDir(), BudgetBytes: 10, PendingMax: 2, PendingBytes: 12, QuarantineMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append("a", []byte("12345"), 0, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append("a", []byte("x"), 3, 8); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("append at offset 3 of a 5-byte partial = %v; want EINVAL", err)
	}
	if _, err := c.Append("big", make([]byte, 13), -1, 20); !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("one partial past the pending bytes = %v; want EBUSY", err)
	}
	// 5 + 8 bytes pass 12: a, the least recently appended, makes room.
	if _, err := c.Append("b", []byte("12345678"), -1, 8); err != nil {
		t.Fatal(err)
	}
	if c.Pending("a") != 0 || c.Pending("b") != 8 {
		t.Fatalf("pending a=%d b=%d; want a dropped for b", c.Pending("a"), c.Pending("b"))
	}
	if _, err := c.Append("a", []byte("x"), 5, 8); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("the dropped partial's next append = %v; want EINVAL (resume from 0)", err)
	}
	if _, err := c.Append("c", []byte("1"), -1, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append("d", []byte("1"), -1, 8); err != nil { // a third: b goes
		t.Fatal(err)
	}
	if c.Pending("b") != 0 || c.Pending("c") != 1 {
		t.Fatalf("pending b=%d c=%d; want b dropped for d", c.Pending("b"), c.Pending("c"))
	}
	if _, err := c.Append("c", []byte("23456789"), -1, 8); !errors.Is(err, errs.ErrTooBig) {
		t.Fatalf("past the object size = %v; want ETOOBIG", err)
	}
	if c.Pending("c") != 0 {
		t.Fatal("an over-long partial was kept")
	}
	if _, err := c.Append("b", []byte("12"), -1, 8); err != nil {
		t.Fatal(err)
	}
	obj := []byte("0123456789")
	if err := c.Put(name(obj), "b", obj); err != nil {
		t.Fatal(err)
	}
	more := []byte("x")
	if err := c.Put(name(more), "", more); !errors.Is(err, errs.ErrQuota) {
		t.Fatalf("past the budget = %v; want EQUOTA", err)
	}
	// b's bytes went with its commit: d (1 byte) and 11 new bytes fit.
	if _, err := c.Append("e", []byte("12345678901"), -1, 20); err != nil {
		t.Fatal(err)
	}
	if c.Pending("d") != 1 {
		t.Fatal("the committed partial's bytes were not released: d was dropped to make room")
	}
}

// TestCASReopen: committed objects survive a reopen; a torn append at
// the end of the pack is cut off into the quarantine, not served.
func TestCASReopen(t *testing.T) {
	dir := t.TempDir()
	opts := CASOptions{Dir: dir, BudgetBytes: 100, PendingMax: 1, PendingBytes: 100, QuarantineMax: 2}
	c, err := OpenCAS(opts)
	if err != nil {
		t.Fatal(err)
	}
	good := []byte("good bytes")
	if err := c.Put(name(good), "", good); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// A crash in the middle of the next append: its header and half its bytes.
	torn := []byte("torn bytes")
	f, err := os.OpenFile(filepath.Join(dir, packName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append(packHeader(torn), torn[:5]...))
	f.Close()
	if c, err = OpenCAS(opts); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.Has(name(good)); !ok {
		t.Fatal("a committed object was lost")
	}
	if _, ok := c.Has(name(torn)); ok {
		t.Fatal("a torn object is served")
	}
	if c.TornBytes != packHeaderSize+5 {
		t.Fatalf("cut %d bytes; want %d", c.TornBytes, packHeaderSize+5)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "quarantine")); len(ents) != 1 {
		t.Fatalf("quarantine holds %d files; want the torn tail", len(ents))
	}
	if c.Used() != int64(len(good)) {
		t.Fatalf("used = %d; want %d", c.Used(), len(good))
	}
	// The next commit lands after the cut and survives a reopen.
	if err := c.Put(name(torn), "", torn); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c, err = OpenCAS(opts); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 20)
	if n, err := c.ReadAt(name(torn), got, 0); err != nil || string(got[:n]) != string(torn) {
		t.Fatalf("ReadAt = %q, %v", got[:n], err)
	}
}

// TestCASCompaction: removing most objects compacts the pack; what is
// left reads back, before and after a reopen.
func TestCASCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := CASOptions{Dir: dir, BudgetBytes: 1 << 20, PendingMax: 1, PendingBytes: 100, QuarantineMax: 2}
	c, err := OpenCAS(opts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 4 {
		b := bytes.Repeat([]byte{byte('a' + i)}, 1000)
		names = append(names, name(b))
		if err := c.Put(name(b), "", b); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.Stat(filepath.Join(dir, packName))
	if err := c.Remove(names[:3]...); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(dir, packName))
	if after.Size() >= before.Size()/2 {
		t.Fatalf("pack %d → %d bytes; want it compacted", before.Size(), after.Size())
	}
	check := func(c *CAS) {
		t.Helper()
		got := make([]byte, 1000)
		if n, err := c.ReadAt(names[3], got, 0); err != nil || n != 1000 || got[0] != 'd' {
			t.Fatalf("ReadAt after compaction = %d, %v", n, err)
		}
		if _, ok := c.Has(names[0]); ok {
			t.Fatal("a removed object is still there")
		}
	}
	check(c)
	c.Close()
	if c, err = OpenCAS(opts); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	check(c)
}

// TestCASAppendResend: bytes sent again at an offset inside a partial are
// taken when they equal what it holds there, and only the new part is
// added; other bytes there, or an offset past the end, are refused.
func TestCASAppendResend(t *testing.T) {
	c, err := OpenCAS(CASOptions{Dir: t.TempDir(), BudgetBytes: 64, PendingMax: 2, PendingBytes: 64, QuarantineMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append("k", []byte("abcd"), 0, 16); err != nil {
		t.Fatal(err)
	}
	b, err := c.Append("k", []byte("cdef"), 2, 16)
	if err != nil || string(b) != "abcdef" {
		t.Fatalf("resend overlapping the end = %q, %v; want abcdef", b, err)
	}
	if b, err := c.Append("k", []byte("bc"), 1, 16); err != nil || string(b) != "abcdef" {
		t.Fatalf("resend inside = %q, %v; want abcdef unchanged", b, err)
	}
	if _, err := c.Append("k", []byte("xy"), 1, 16); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("other bytes inside = %v; want EINVAL", err)
	}
	if _, err := c.Append("k", []byte("gh"), 7, 16); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("past the end = %v; want EINVAL", err)
	}
	if n := c.Pending("k"); n != 6 {
		t.Fatalf("pending = %d; want 6", n)
	}
}
