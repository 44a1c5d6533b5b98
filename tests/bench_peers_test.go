package tests

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
)

// BenchmarkAttachUnderAttack measures an operator's attach from 127.0.0.1
// (dial, AUTH, attach queen, close) against a real root task, b.N times
// with nothing else going on (baseline) and b.N times while 127.0.0.2
// fails AUTH, console ATTACH and Tattach as fast as it can and 1,000 idle
// connections (half authenticated consoles, half Secure9P after Tversion)
// are open from 40 other loopback addresses. It reports p50/p99 of both
// phases in ms, the attacker's attempts per second and the 1-minute load
// average at the end. Run with a fixed count, e.g.
//
//	go test ./tests/ -run '^$' -bench AttachUnderAttack -benchtime 300x
func BenchmarkAttachUnderAttack(b *testing.B) {
	rt := startRootTask(b, binaries(b, "roottask"), false)
	operator := func() time.Duration {
		t0 := time.Now()
		nc, err := net.Dial("tcp", rt.ConsoleAddr)
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		fr := console.NewFrameReader(bufio.NewReader(nc), console.ManifestLimits())
		for _, line := range []string{console.AuthLine(generated.ConsoleAuthToken), "attach queen"} {
			if _, err := nc.Write(console.AppendFrame(nil, line)); err != nil {
				b.Fatal(err)
			}
			if r, err := fr.Next(true); err != nil || !strings.HasPrefix(r, "OK ") {
				b.Fatalf("operator %q = %q, %v", line, r, err)
			}
		}
		return time.Since(t0)
	}
	measure := func() []time.Duration {
		lat := make([]time.Duration, b.N)
		for i := range lat {
			lat[i] = operator()
		}
		slices.Sort(lat)
		return lat
	}
	b.ResetTimer()
	base := measure()

	idle := openIdle(b, rt, 1000, 40)
	ctx, cancel := context.WithCancel(context.Background())
	var attempts atomic.Int64
	var wg sync.WaitGroup
	attack(ctx, b, rt, &wg, &attempts)
	t0 := time.Now()
	under := measure()
	rate := float64(attempts.Load()) / time.Since(t0).Seconds()
	cancel()
	wg.Wait()
	b.StopTimer()
	for _, c := range idle {
		c.Close()
	}
	ms := func(lat []time.Duration, p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(base, 0.50), "base-p50-ms")
	b.ReportMetric(ms(base, 0.99), "base-p99-ms")
	b.ReportMetric(ms(under, 0.50), "attack-p50-ms")
	b.ReportMetric(ms(under, 0.99), "attack-p99-ms")
	b.ReportMetric(rate, "attacker-attempts/s")
	b.ReportMetric(loadAvg(b), "load1")
	b.ReportMetric(0, "ns/op")
}

// openIdle opens n idle connections from `from` loopback addresses
// 127.0.1.x: even ones authenticated on the console, odd ones Secure9P
// after Tversion.
func openIdle(b *testing.B, rt *rootTask, n, from int) []net.Conn {
	conns := make([]net.Conn, 0, n)
	for i := range n {
		ip := fmt.Sprintf("127.0.1.%d", 1+i%from)
		if i%2 == 1 {
			conns = append(conns, dial9PFrom(b, ip, rt.NinePAddr).nc)
			continue
		}
		conns = append(conns, authedConsoleFrom(b, ip, rt.ConsoleAddr).nc)
	}
	return conns
}

// attack runs 127.0.0.2's loops until ctx ends: wrong AUTH hellos on
// fresh connections, forged ATTACHes on consoles it authenticated before
// it was held back, and forged Tattaches on one 9P connection.
func attack(ctx context.Context, b *testing.B, rt *rootTask, wg *sync.WaitGroup, attempts *atomic.Int64) {
	const attacker = "127.0.0.2"
	forged := forge(queenTicketNow(b))
	authed := []*rawConsole{authedConsoleFrom(b, attacker, rt.ConsoleAddr), authedConsoleFrom(b, attacker, rt.ConsoleAddr)}
	loop := func(f func() bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && f() {
				attempts.Add(1)
			}
		}()
	}
	for range 2 {
		loop(func() bool {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(attacker)}}
			nc, err := d.DialContext(ctx, "tcp", rt.ConsoleAddr)
			if err != nil {
				return ctx.Err() == nil
			}
			defer nc.Close()
			nc.Write(console.AppendFrame(nil, console.AuthLine("wrong")))
			_, err = console.NewFrameReader(bufio.NewReader(nc), console.ManifestLimits()).Next(true)
			return err == nil
		})
	}
	for _, c := range authed {
		loop(func() bool {
			_, err := c.do("attach queen " + forged)
			return err == nil
		})
	}
	nine := dial9PFrom(b, attacker, rt.NinePAddr)
	fid := uint32(0)
	loop(func() bool {
		fid++
		nine.attach(fid, forged)
		return true
	})
}

func loadAvg(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		b.Fatal(err)
	}
	return f
}
