package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// BenchmarkSegmenter: the cut and render of 1 MiB of ndjson telemetry,
// which every byte pushed through hive-gateway or coh pays.
func BenchmarkSegmenter(b *testing.B) {
	var body bytes.Buffer
	for i := 0; body.Len() < 1<<20; i++ {
		fmt.Fprintf(&body, `{"schema_version":"gpu-telemetry/v1","device_id":"GPU-0","seq":%09d,"latency_ms":[3,5,8],"note":"ok \"q\" é"}`+"\n", i)
	}
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		sg := NewSegmenter(bytes.NewReader(body.Bytes()), "application/x-ndjson", DefaultLimits())
		for {
			_, _, err := sg.Next()
			if errors.Is(err, io.EOF) {
				break
			}
		}
	}
}
