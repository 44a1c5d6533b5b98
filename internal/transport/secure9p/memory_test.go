package secure9p

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// BenchmarkSessionMemory reports what one attached, idle session costs the
// hive: heap and goroutine-stack bytes and goroutines, after each session
// has read a byte of /proc/boot (issue 15 item 7). Clients and server share
// the process; the raw clients hold a socket and a small struct each.
func BenchmarkSessionMemory(b *testing.B) {
	const sessions = 256 // limit-literal-ok: a sample size, not a limit
	h := startHive(b, func(c *Config) { c.Listener.MaxConnsPerPeer = 0 })
	measure := func() (heap, stack uint64, g int) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()
	}
	for range b.N {
		heap0, stack0, g0 := measure()
		conns := make([]*raw, 0, sessions)
		for i := range sessions {
			nc, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(i>>8), byte(1+i&0xff))}}).Dial("tcp", h.addr)
			if err != nil {
				b.Fatal(err)
			}
			r := &raw{t: b, nc: nc}
			nc.SetDeadline(time.Now().Add(time.Minute))
			r.version(8192)
			if e := r.attach(1, queenTicket(b)); e != 0 {
				b.Fatalf("attach %d: errno %d", i, e)
			}
			openBoot(b, r)
			if e := r.call(readReq(1, 0)); e != 0 {
				b.Fatalf("read %d: errno %d", i, e)
			}
			conns = append(conns, r)
		}
		time.Sleep(50 * time.Millisecond) // let the receivers park
		heap1, stack1, g1 := measure()
		b.ReportMetric(float64(heap1-heap0)/sessions, "heapB/session")
		b.ReportMetric(float64(stack1-stack0)/sessions, "stackB/session")
		b.ReportMetric(float64(g1-g0)/sessions, "goroutines/session")
		for _, r := range conns {
			r.nc.Close()
		}
	}
}
