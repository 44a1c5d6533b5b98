package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/transport/secure9p"
)

// BenchmarkCASUpload measures cas-tool upload of a bundle of random
// bytes over Secure9P to a hive with a state dir (every chunk durable
// before its reply), against a raw loopback TCP stream of the same chunk
// bytes in the same run, for chunk sizes 8192 (two Twrites a chunk) and
// 4096 (one), at 1, 4 and 16 sessions. Figures: MB/s of both, their
// ratio, and the load average beside (docs/BENCHMARKS.md, CAS upload).
//
//	COHESIX_CAS_BENCH_MB      payload MiB (default 256; 4096-byte chunks
//	                          use 1 MiB less: 256 MiB is past max_chunks)
//	COHESIX_CAS_BENCH_SESSIONS  comma-separated session counts (1,4,16)
//	COHESIX_CAS_BENCH_INPROC  1: serve the hive in this process, so that
//	                          go test -cpuprofile profiles it
//
// Run with -benchtime=1x; each iteration uses a fresh hive and state dir.
func BenchmarkCASUpload(b *testing.B) {
	mb := envInt("COHESIX_CAS_BENCH_MB", 256)
	sessions := []int{1, 4, 16}
	if s := os.Getenv("COHESIX_CAS_BENCH_SESSIONS"); s != "" {
		sessions = nil
		for _, f := range strings.Split(s, ",") {
			n, _ := strconv.Atoi(f)
			sessions = append(sessions, n)
		}
	}
	bin := binaries(b, "roottask", "cmd/cas-tool")
	key := filepath.Join(b.TempDir(), "root")
	if _, err := cas.WriteKeyPair(key); err != nil {
		b.Fatal(err)
	}
	for _, chunk := range []int{8192, 4096} {
		size := mb << 20
		if chunk == 4096 {
			size -= 1 << 20
		}
		in := filepath.Join(b.TempDir(), "payload.bin")
		writeRandom(b, in, size)
		bundle := filepath.Join(b.TempDir(), "bundle")
		if out, code := toolB(b, bin, "cas-tool", "pack", in, "--out", bundle, "--epoch", "1", "--chunk-bytes", strconv.Itoa(chunk), "--sign", key); code != 0 {
			b.Fatalf("pack: %s", out)
		}
		os.Remove(in)
		for _, n := range sessions {
			b.Run(fmt.Sprintf("chunk=%d/sessions=%d", chunk, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					benchUploadOnce(b, bin, key, bundle, n)
				}
			})
		}
		os.RemoveAll(bundle)
	}
}

func benchUploadOnce(b *testing.B, bin, key, bundle string, sessions int) {
	b.StopTimer()
	state := b.TempDir()
	addr := ""
	if os.Getenv("COHESIX_CAS_BENCH_INPROC") == "1" {
		addr = inProcessCASHive(b, key, state)
	} else {
		addr = startRootTaskArgs(b, bin, false, []string{"--profile", "governed", "--cas-root-key", key + ".pub", "--state-dir", state}).NinePAddr
	}
	raw := rawStreamMBps(b, filepath.Join(bundle, "chunks"))
	ceiling := ceilingMBps(b, bundleBytes(b, filepath.Join(bundle, "chunks")))
	b.StartTimer()
	out, code := toolB(b, bin, "cas-tool", "upload", bundle, "--addr", addr, "--sessions", strconv.Itoa(sessions), "--json")
	b.StopTimer()
	var r struct {
		State     string  `json:"state"`
		BytesSent int64   `json:"bytes_sent"`
		Seconds   float64 `json:"seconds"`
		MBps      float64 `json:"mb_per_s"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.State != "ready" {
		b.Fatalf("upload = %d: %s", code, out)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	b.ReportMetric(r.MBps, "upload-MB/s")
	b.ReportMetric(raw, "raw-MB/s")
	b.ReportMetric(r.MBps/raw, "ratio")
	b.ReportMetric(r.MBps/ceiling, "ceiling-ratio")
	b.Logf("upload %d bytes in %.2fs = %.1f MB/s; raw loopback stream of the chunk files %.1f MB/s (ratio %.3f); loopback ceiling %.1f MB/s (ratio %.3f); loadavg %s",
		r.BytesSent, r.Seconds, r.MBps, raw, r.MBps/raw, ceiling, r.MBps/ceiling, strings.TrimSpace(string(load)))
}

// inProcessCASHive serves a governed hive with CAS on from this process.
func inProcessCASHive(b *testing.B, key, state string) string {
	pub, err := cas.ReadPublicKey(key + ".pub")
	if err != nil {
		b.Fatal(err)
	}
	h, err := hive.New(hive.Options{StateDir: state, CASRootKey: pub}.WithProfile(hive.ProfileGoverned))
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go secure9p.NewServerOn(h.Door(), secure9p.DefaultConfig()).Serve(ctx, l)
	b.Cleanup(func() { cancel(); l.Close(); h.Close() })
	return l.Addr().String()
}

// rawStreamMBps sends the chunk files, in one loopback TCP stream, to a
// receiver that discards them, and returns MB/s.
func rawStreamMBps(b *testing.B, dir string) float64 {
	ents, _ := os.ReadDir(dir)
	return streamMBps(b, func(c net.Conn) error {
		for _, e := range ents {
			p, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			if _, err := c.Write(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// streamMBps times send over one loopback TCP stream to a receiver that
// discards what it gets, and returns MB/s of what arrived.
func streamMBps(b *testing.B, send func(net.Conn) error) float64 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- 0
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		got <- n
	}()
	start := time.Now()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if err := send(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
	return float64(<-got) / 1e6 / time.Since(start).Seconds()
}

// bundleBytes is the size of the chunk files in dir.
func bundleBytes(b *testing.B, dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// ceilingMBps is the physical ceiling: n bytes from memory in 1 MiB
// writes over one loopback TCP stream to a receiver that discards them.
func ceilingMBps(b *testing.B, n int64) float64 {
	buf := make([]byte, 1<<20)
	return streamMBps(b, func(c net.Conn) error {
		for left := n; left > 0; left -= int64(len(buf)) {
			if _, err := c.Write(buf[:min(int64(len(buf)), left)]); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeRandom(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, fastRand{}, int64(n)); err != nil {
		b.Fatal(err)
	}
}

// fastRand is a cheap incompressible stream (xorshift), so packing 256
// MiB does not wait on crypto/rand.
type fastRand struct{}

var xs uint64 = 0x9e3779b97f4a7c15

func (fastRand) Read(p []byte) (int, error) {
	for i := range p {
		xs ^= xs << 13
		xs ^= xs >> 7
		xs ^= xs << 17
		p[i] = byte(xs)
	}
	return len(p), nil
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// toolB runs a built host tool and returns its stdout and exit code.
func toolB(b *testing.B, bin, name string, args ...string) (string, int) {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	out, err := cmd.Output()
	code := 0
	if err != nil {
		code = 1
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		}
		out = append(out, []byte(fmt.Sprint(err))...)
	}
	return string(out), code
}
