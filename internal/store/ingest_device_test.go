package store

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/queen"
)

// TestIngestDeviceCompacts: on a device region the ingest spool compacts
// at half a half's room whatever compactAt says, so a stream of records
// (each evicting the one before: little stays live) never fills the half;
// a reopen restores exactly the live segments and the id counter.
func TestIngestDeviceCompacts(t *testing.T) {
	region := blockdev.NewMem(512, 2*16) // halves of 15 record blocks: 7,680 bytes of room
	st, devs, torn, err := OpenIngestDevice(region, 1<<40)
	if err != nil || len(devs) != 0 || torn != "" {
		t.Fatalf("fresh region: %v, %q, %v", devs, torn, err)
	}
	rec := []byte(fmt.Sprintf("%0200d\n", 7))
	prev := ""
	for i := 1; i <= 100; i++ { // about 30 KB of spool records, four halves' room
		seg := fmt.Sprintf("seg-%06d", i)
		out := queen.IngestOutcome{Device: "dev-a", Segment: seg, Mime: "text/plain"}
		if prev != "" {
			out.Evicted = []string{prev}
		}
		if err := st.Record(out); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := st.Record(queen.IngestOutcome{Device: "dev-a", Segment: seg, Record: rec}); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		prev = seg
	}
	if st.sp.Size() > st.sp.Capacity()/2+int64(len(rec))*2 {
		t.Errorf("spool at %d of %d bytes: not compacted at half", st.sp.Size(), st.sp.Capacity())
	}
	st.Close()
	_, devs, torn, err = OpenIngestDevice(region, 1<<40)
	if err != nil || torn != "" {
		t.Fatalf("reopen: %q, %v", torn, err)
	}
	want := []queen.IngestDevice{{ID: "dev-a", Next: 101, Total: len(rec), Latest: "seg-000100",
		Segments: []queen.Segment{{ID: "seg-000100", Mime: "text/plain", Records: 1, Data: rec}}}}
	if d := cmp.Diff(want, devs); d != "" {
		t.Errorf("restored devices (-want +got):\n%s", d)
	}
}
