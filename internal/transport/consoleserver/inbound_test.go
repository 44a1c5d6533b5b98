package consoleserver

import (
	"slices"
	"testing"

	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gate"
)

// TestInboundQueueBounds: depth requests wait to run, the next ones are
// busy markers, errors always queue, and a full queue holds the reader
// (push waits) instead of dropping anything.
func TestInboundQueueBounds(t *testing.T) {
	stats := &gate.IngestStats{}
	q := newInboundQueue(stats, &fakeClock{}, 2, 3)
	for i := range 4 {
		if !q.push(inbound{line: "ping"}) {
			t.Fatalf("push %d refused", i)
		}
	}
	if !q.push(inbound{err: console.ErrInvalidLength}) {
		t.Fatal("push of an error refused")
	}
	var busy []bool
	for range 2 {
		busy = append(busy, q.pop().busy)
	}
	if !q.push(inbound{line: "ping"}) { // two ran: room for a request again
		t.Fatal("push after pops refused")
	}
	for range 4 {
		it := q.pop()
		busy = append(busy, it.busy && it.err == nil)
	}
	if want := []bool{false, false, true, true, false, false}; !slices.Equal(busy, want) {
		t.Errorf("busy = %v; want %v", busy, want)
	}
	if got := stats.Backpressure.Load(); got != 2 {
		t.Errorf("backpressure = %d; want 2", got)
	}
	if got := stats.Dropped.Load(); got != 0 {
		t.Errorf("dropped = %d; want 0", got)
	}
	// Fill it: the next push can only end when the dispatcher goes.
	for range 5 {
		q.push(inbound{line: "ping"})
	}
	close(q.stop)
	if q.push(inbound{line: "ping"}) {
		t.Error("push into a full queue went through; want it held until the dispatcher left")
	}
	q.drain()
	if got := stats.Queued.Load(); got != 0 {
		t.Errorf("queued gauge = %d after drain; want 0", got)
	}
}
