package tests

import (
	"bufio"
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/hive"
)

// BenchmarkConsoleCatBoot measures `cat /proc/boot` round trips over the TCP
// console (client core → framed TCP → dispatcher → namespace → reply lines),
// reporting p50 and p99 latency.
func BenchmarkConsoleCatBoot(b *testing.B) {
	h, err := hive.New(hive.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go h.ServeConsoles(l)
	c, err := client.Dial(context.Background(), l.Addr().String(), generated.ConsoleAuthToken)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if r, err := c.Do("attach queen"); err != nil || !r.Ack.OK {
		b.Fatalf("attach: %v %q", err, r.AckLine())
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r, err := c.Do("cat /proc/boot")
		lat = append(lat, time.Since(t0))
		if err != nil || !r.Ack.OK {
			b.Fatalf("cat: %v %q", err, r.AckLine())
		}
	}
	reportPercentiles(b, lat)
}

// BenchmarkLoopbackFramedEcho is the baseline for BenchmarkConsoleCatBoot:
// the same request and reply frames (one line out, the cat reply's lines
// back) echoed by a trivial server over loopback TCP, with no hive behind it.
func BenchmarkLoopbackFramedEcho(b *testing.B) {
	reply := append([]string{"OK CAT path=/proc/boot data=x"}, hive.BootLines()...)
	reply = append(reply, console.End)
	lim := console.ManifestLimits()
	var out []byte
	for _, l := range reply {
		out = console.AppendFrame(out, l)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		fr := console.NewFrameReader(bufio.NewReader(c), lim)
		for {
			if _, err := fr.Next(true); err != nil {
				return
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	fr := console.NewFrameReader(bufio.NewReader(nc), lim)
	req := console.AppendFrame(nil, "cat /proc/boot")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		for range reply {
			if _, err := fr.Next(true); err != nil {
				b.Fatal(err)
			}
		}
		lat = append(lat, time.Since(t0))
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	b.StopTimer()
	slices.Sort(lat)
	at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Microsecond) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
