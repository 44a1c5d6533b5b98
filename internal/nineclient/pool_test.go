package nineclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/hugelgupf/p9/linux"
)

// After a drop the hive's segment size says how many records landed:
// only a size on a record boundary is one the client can resume from.
func TestRecordsIn(t *testing.T) {
	recs := [][]byte{[]byte("ab\n"), []byte("cde\n"), []byte("f\n")}
	for _, tt := range []struct {
		size uint64
		want int
		ok   bool
	}{{0, 0, true}, {3, 1, true}, {7, 2, true}, {9, 3, true}, {4, 0, false}, {10, 0, false}} {
		got, ok := recordsIn(recs, tt.size)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("recordsIn(size %d) = %d, %v; want %d, %v", tt.size, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct{ n, want int }{{0, 0}, {2, 0}, {3, 1}, {8, 2}, {9, 3}} {
		if got := recordsWithin(recs, tt.n); got != tt.want {
			t.Errorf("recordsWithin(%d) = %d; want %d", tt.n, got, tt.want)
		}
	}
}

// A refusal is a reply and safe to resend; a drop is not a reply.
func TestErrorClasses(t *testing.T) {
	for _, tt := range []struct {
		err        error
		busy, conn bool
	}{
		{linux.EBUSY, true, false},
		{fmt.Errorf("append: %w", linux.EAGAIN), true, false},
		{linux.ENOENT, false, false},
		{io.EOF, false, true},
		{io.ErrUnexpectedEOF, false, true},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, false, true},
		{errors.New("short write 3 of 9"), false, false},
	} {
		if IsBusy(tt.err) != tt.busy || IsConnErr(tt.err) != tt.conn {
			t.Errorf("%v: busy %v conn %v; want %v %v", tt.err, IsBusy(tt.err), IsConnErr(tt.err), tt.busy, tt.conn)
		}
	}
}

// Sizes default to the manifest's client_policies.cohsh.pool.
func TestNewPoolSizes(t *testing.T) {
	p := NewPool(PoolConfig{})
	if p.Size(Control) < 1 || p.Size(Telemetry) < 1 || p.cfg.Retry.MaxAttempts < 1 {
		t.Fatalf("pool sizes %d/%d, retry %+v", p.Size(Control), p.Size(Telemetry), p.cfg.Retry)
	}
	if p2 := NewPool(PoolConfig{Control: 1, Telemetry: 3}); p2.Size(Control) != 1 || p2.Size(Telemetry) != 3 {
		t.Fatalf("explicit sizes: %d/%d", p2.Size(Control), p2.Size(Telemetry))
	}
}
