package ns

import (
	"errors"
	"testing"

	"github.com/cohesix/cohesix/internal/errs"
)

// farRing is a ring that has seen a terabyte and keeps three bytes.
type farRing struct{ NotDir }

const farBase = 1 << 40

func (farRing) Stat() (Stat, error)                       { return Stat{Kind: KindAppend, Size: farBase + 3}, nil }
func (farRing) Base() (uint64, error)                     { return farBase, nil }
func (farRing) Append(Caller, []byte, int64) (int, error) { return 0, nil }
func (farRing) ReadAt(p []byte, off int64) (int, error) {
	if off < farBase {
		return 0, errs.New(errs.ErrInvalid, "stale")
	}
	return ReadBytes([]byte("abc"), p, off-farBase)
}

// ReadAll sizes its buffer by the retained bytes, not the ring's absolute
// end: a long-lived ring must not cost its whole history in memory.
func TestReadAllWindowed(t *testing.T) {
	got, err := ReadAll(farRing{})
	if err != nil || string(got) != "abc" {
		t.Fatalf("ReadAll(far ring) = %q, %v; want %q, nil", got, err, "abc")
	}
	if cap(got) > 4096 {
		t.Errorf("cap(ReadAll(far ring)) = %d; want the retained bytes only", cap(got))
	}
}

func TestReadAllDirectory(t *testing.T) {
	if _, err := ReadAll(Static{}); !errors.Is(err, errs.ErrInvalid) || err.Error() != "invalid path" {
		t.Errorf("ReadAll(dir) = %v; want ErrInvalid %q", err, "invalid path")
	}
}

func TestReadBytes(t *testing.T) {
	b := []byte("hello")
	for _, tt := range []struct {
		off  int64
		want string
		err  string
	}{{0, "hello", ""}, {2, "llo", ""}, {5, "", ""}, {9, "", ""}, {-1, "", "negative offset"}} {
		p := make([]byte, 8)
		k, err := ReadBytes(b, p, tt.off)
		if got := string(p[:k]); got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("ReadBytes(%q, %d) = %q, %v; want %q, %q", b, tt.off, got, err, tt.want, tt.err)
		}
	}
}
