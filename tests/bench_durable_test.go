package tests

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/hive"
)

// BenchmarkConsoleAppend measures `echo /log/queen.log LINE` throughput
// over the TCP console with and without a state dir (every line fsynced
// before its OK, group commit batching concurrent clients), at 1 to 64
// concurrent clients; appends/s is the figure (DECISIONS, group
// commit). Compare memory and durable at the same clients.
func BenchmarkConsoleAppend(b *testing.B) {
	for _, clients := range []int{1, 8, 16, 32, 64} {
		for _, mode := range []string{"memory", "durable"} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, clients), func(b *testing.B) {
				dir := ""
				if mode == "durable" {
					dir = b.TempDir()
				}
				benchAppend(b, dir, clients)
			})
		}
	}
}

func benchAppend(b *testing.B, stateDir string, clients int) {
	h, err := hive.New(hive.Options{StateDir: stateDir})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// Every client dials from 127.0.0.1, so the accept loop here is a
	// plain one: the per-peer cap of ServeConsoles would refuse clients
	// past network.max_conns_per_peer, and it is not what is measured.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go h.ServeConsole(c)
		}
	}()
	conns := make([]*client.Conn, clients)
	for i := range conns {
		c, err := client.Dial(context.Background(), l.Addr().String(), generated.ConsoleAuthToken)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if r, err := c.Do("attach queen"); err != nil || !r.Ack.OK {
			b.Fatalf("attach: %v %q", err, r.AckLine())
		}
		conns[i] = c
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	b.ResetTimer()
	t0 := time.Now()
	for ci, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if r, err := c.Do(fmt.Sprintf("echo /log/queen.log bench-c%d-%d", ci, n)); err != nil || !r.Ack.OK {
					errc <- fmt.Errorf("echo: %v %q", err, r.AckLine())
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
}

// BenchmarkFsync is the disk's physical ceiling for one durable append:
// a 64-byte write and fsync on a file in the test's temp dir.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, 64)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportPercentiles(b, lat)
}
