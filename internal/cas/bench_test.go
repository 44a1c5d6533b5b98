package cas

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkVerifyBundle verifies a bundle of random bytes in 8 KiB chunks;
// COHESIX_CAS_BENCH_BYTES sets the size (default 64 MiB).
// scripts/bench-cas-verify.sh compares cas-tool verify with sha256sum.
func BenchmarkVerifyBundle(b *testing.B) {
	size := int64(64 << 20)
	if s := os.Getenv("COHESIX_CAS_BENCH_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("COHESIX_CAS_BENCH_BYTES=%q: want a positive byte count", s)
		}
		size = n
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "input.bin")
	f, err := os.Create(in)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "bundle")
	m, err := Pack(in, PackOptions{Epoch: "1", ChunkBytes: 8192, OutDir: out})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(m.PayloadBytes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := VerifyBundle(out, VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
