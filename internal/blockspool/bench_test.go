package blockspool

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/blockdev"
)

// BenchmarkAppendFileFsync is the spool's append rate on a file device
// with fsync semantics: every Append writes its blocks and fsyncs before
// it returns. 1 MiB ring of 512-byte blocks, 100-byte payloads,
// overwrite_acked with the consumer acking every record, so the ring
// wraps and reclaims as it would in service.
func BenchmarkAppendFileFsync(b *testing.B) {
	d, err := blockdev.OpenFile(filepath.Join(b.TempDir(), "spool.blk"), 512, SuperBlocks+2048)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	s, err := Open(d, Config{Mode: OverwriteAcked, MaxRecordBytes: 4096}, zero{})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 100)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seq, err := s.Append(1, int64(i), payload)
		if err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			if err := s.Ack(seq); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRecoverTornTail is Open on a full 1 MiB ring (file device)
// whose newest record is torn: the walk reads every record once.
func BenchmarkRecoverTornTail(b *testing.B) {
	for _, size := range []int{100, 4000} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "spool.blk")
			d, err := blockdev.OpenFile(path, 512, SuperBlocks+2048)
			if err != nil {
				b.Fatal(err)
			}
			mem := blockdev.NewMem(512, SuperBlocks+2048)
			s, err := Open(mem, Config{Mode: Refuse, MaxRecordBytes: 4096}, zero{})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for ; ; n++ {
				if _, err := s.Append(1, 0, make([]byte, size)); err != nil {
					break
				}
			}
			last := s.live[len(s.live)-1]
			mem.Data[int64(SuperBlocks*512)+last.pos+HeaderLen] ^= 1 // tear the newest
			if err := blockdev.WriteAt(d, 0, mem.Data); err != nil {
				b.Fatal(err)
			}
			d.Flush()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				r, err := Open(d, Config{Mode: Refuse, MaxRecordBytes: 4096}, zero{})
				if err != nil || r.Recovered().Records != n-1 || r.Recovered().Stop != "bad-checksum" {
					b.Fatalf("recovered %+v, %v; want %d records", r.Recovered(), err, n-1)
				}
			}
			b.ReportMetric(float64(n-1), "records")
			_ = start
			d.Close()
		})
	}
}
