package store

import (
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

// TestCASBounds: partial uploads are bounded in count and bytes, resume
// only at their end, and commits stop at the byte budget.
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
	if _, err := c.Append("b", []byte("12345678"), -1, 8); !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("past the pending bytes = %v; want EBUSY", err)
	}
	if _, err := c.Append("b", []byte("12"), -1, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Append("c", []byte("1"), -1, 8); !errors.Is(err, errs.ErrBusy) {
		t.Fatalf("a third partial = %v; want EBUSY", err)
	}
	if _, err := c.Append("a", []byte("6789"), -1, 8); !errors.Is(err, errs.ErrTooBig) {
		t.Fatalf("past the object size = %v; want ETOOBIG", err)
	}
	if c.Pending("a") != 0 {
		t.Fatal("an over-long partial was kept")
	}
	obj := []byte("0123456789")
	if err := c.Put(name(obj), "b", obj); err != nil {
		t.Fatal(err)
	}
	more := []byte("x")
	if err := c.Put(name(more), "", more); !errors.Is(err, errs.ErrQuota) {
		t.Fatalf("past the budget = %v; want EQUOTA", err)
	}
	if _, err := c.Append("d", []byte("123456789012"), -1, 20); err != nil {
		t.Fatalf("the committed partial's bytes were not released: %v", err)
	}
}

// TestCASReopen: committed objects survive a reopen; one whose bytes do
// not hash to its name (a torn or damaged file) is quarantined, not served.
func TestCASReopen(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCAS(CASOptions{Dir: dir, BudgetBytes: 100, PendingMax: 1, PendingBytes: 100, QuarantineMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	good, bad := []byte("good bytes"), []byte("bad bytes")
	if err := c.Put(name(good), "", good); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(name(bad), "", bad); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "objects", name(bad)), []byte("bad byt"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = OpenCAS(CASOptions{Dir: dir, BudgetBytes: 100, PendingMax: 1, PendingBytes: 100, QuarantineMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Has(name(good)); !ok {
		t.Fatal("a committed object was lost")
	}
	if _, ok := c.Has(name(bad)); ok {
		t.Fatal("a torn object is served")
	}
	if _, err := os.Stat(filepath.Join(dir, "quarantine", "torn-"+name(bad))); err != nil {
		t.Fatalf("the torn object was not quarantined: %v", err)
	}
	if c.Used() != int64(len(good)) {
		t.Fatalf("used = %d; want %d", c.Used(), len(good))
	}
}
