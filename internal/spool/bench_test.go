package spool

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/blockdev"
)

// govRegion is a governance-sized device region on a file: the manifest's
// persistence.governance_bytes in persistence.block_bytes blocks.
func govRegion(b *testing.B) *blockdev.File {
	bs := generated.PersistenceBlockBytes
	d, err := blockdev.OpenFile(filepath.Join(b.TempDir(), "gov.blk"), bs, generated.PersistenceGovernanceBytes/int64(bs))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkAppendFsync is one 100-byte governance record appended and
// made durable per op: on a spool file (write + fsync) and on a device
// spool on a file device (block writes + fsync; compacted to nothing at
// half a half, as governance compacts its log).
func BenchmarkAppendFsync(b *testing.B) {
	payload := make([]byte, 100)
	open := map[string]func(b *testing.B) *Spool{
		"file": func(b *testing.B) *Spool {
			s, _, _, err := Open(filepath.Join(b.TempDir(), "governance.spool"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"device": func(b *testing.B) *Spool {
			s, _, _, err := OpenDevice(govRegion(b))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, medium := range []string{"file", "device"} {
		b.Run(medium, func(b *testing.B) {
			s := open[medium](b)
			defer s.Close()
			none := func([][]byte) [][]byte { return nil }
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := s.Append(payload); err != nil {
					b.Fatal(err)
				}
				if c := s.Capacity(); c > 0 && s.Size() > c/2 {
					if err := s.Compact("", none); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkOpenDevice is recovery at open: OpenDevice of a governance
// region whose live half is full of 100-byte records, page cache warm;
// clean, and with the newest record torn (a flipped payload byte: Open
// then writes a terminator where it began and flushes).
func BenchmarkOpenDevice(b *testing.B) {
	for _, tear := range []bool{false, true} {
		b.Run(fmt.Sprintf("torn=%t", tear), func(b *testing.B) {
			d := govRegion(b)
			mem := blockdev.NewMem(d.BlockSize(), d.Blocks())
			s, _, _, err := OpenDevice(mem)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for ; s.Append(make([]byte, 100)) == nil; n++ {
			}
			bs := int64(d.BlockSize())
			end := bs + s.Size() // the half's header block, then the stream
			want, reason := n, ""
			if tear {
				mem.Data[end-1] ^= 1
				want, reason = n-1, "bad-checksum"
			}
			if err := blockdev.WriteAt(d, 0, mem.Data); err != nil {
				b.Fatal(err)
			}
			back := (end - 2*bs) / bs * bs
			for b.Loop() {
				_, recs, torn, err := OpenDevice(d)
				if err != nil || len(recs) != want || (torn == nil) != !tear || (tear && torn.Reason != reason) {
					b.Fatalf("recovered %d records, torn %+v, %v; want %d", len(recs), torn, err, want)
				}
				if tear { // Open cut the tail off: put the torn record's blocks back
					if err := blockdev.WriteAt(d, back, mem.Data[back:end]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(want), "records")
		})
	}
}
