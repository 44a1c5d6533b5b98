package blockspool

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// goldenPath is a spool device image committed as a fixture: 64-byte
// blocks, superblock and a 768-byte ring that has wrapped, records 1-7
// reclaimed, 8-12 kept (544 ring bytes), the cursor at 10 (milestone 27
// acceptance 3 and 7).
var goldenPath = filepath.Join("testdata", "golden.img")

// buildGolden writes the fixture's history on a fresh device.
func buildGolden(t *testing.T) *blockdev.Mem {
	mem := newDev()
	s := open(t, mem, cfgOA)
	for i := range 12 {
		seq, err := s.Append(uint8(1+i%2), 1764870000000+int64(i), []byte(fmt.Sprintf("golden-%02d-%s", i, bytes.Repeat([]byte{'g'}, i*7))))
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if i == 7 || i == 10 {
			if err := s.Ack(seq - 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	return mem
}

// TestGoldenImage: the committed image gives the expected status, read
// and ack results, and today's code writes the same bytes for the same
// history (the on-device format is byte-stable). COHESIX_UPDATE_GOLDEN=1
// rewrites the fixture.
func TestGoldenImage(t *testing.T) {
	built := buildGolden(t)
	if os.Getenv("COHESIX_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(goldenPath, built.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img, built.Data) {
		t.Fatalf("the same history now writes a different image: the format changed (DECISIONS P91)")
	}
	mem := &blockdev.Mem{Size: 64, Data: img}
	s := open(t, mem, cfgOA)
	st := s.Status()
	want := Status{UsedBytes: 544, MaxBytes: 768, Records: 5, Dropped: 0, Evicted: 0, Pressure: 30, Mode: OverwriteAcked, AckCursor: 10, NextSeq: 13}
	if st != want {
		t.Errorf("status %+v\nwant   %+v", st, want)
	}
	recs, err := s.Read(st.AckCursor, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%d/%d/%d/%s", r.Seq, r.Kind, r.TS, r.Payload[:9]))
	}
	if wantRecs := []string{"11/1/1764870000010/golden-10", "12/2/1764870000011/golden-11"}; !slices.Equal(got, wantRecs) {
		t.Errorf("read after the cursor: %q, want %q", got, wantRecs)
	}
	if err := s.Ack(12); err != nil {
		t.Fatal(err)
	}
	if st := open(t, mem, cfgOA).Status(); st.AckCursor != 12 || st.Pressure != 0 || st.Records != 5 {
		t.Errorf("after ack 12 and a reopen: %+v", st)
	}
}
