package secure9p

import (
	"context"
	"net"
	"testing"

	"github.com/hugelgupf/p9/fsimpl/staticfs"
	"github.com/hugelgupf/p9/p9"
)

// benchBoot is a /proc/boot of typical size.
var benchBoot = []byte("cohesix boot: hosted root task\nprofile=dev\nmanifest=ee2c2689a26e6112\n" +
	"secure9p=127.0.0.1:5640 msize=8192 walk_depth=8 tags=16\nconsole=127.0.0.1:31337\n")

// readLoop walks to path, opens, reads once and clunks, b.N times.
func readLoop(b *testing.B, root p9.File, path []string) {
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, f, err := root.Walk(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := f.Open(p9.ReadOnly); err != nil {
			b.Fatal(err)
		}
		n, err := f.ReadAt(buf, 0)
		if err != nil || n != len(benchBoot) {
			b.Fatalf("read %d bytes, %v; want %d", n, err, len(benchBoot))
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func dialBench(b *testing.B, addr, aname string) p9.File {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c, err := p9.NewClient(nc, p9.WithMessageSize(DefaultConfig().Msize))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	root, err := c.Attach(aname)
	if err != nil {
		b.Fatal(err)
	}
	return root
}

// BenchmarkBootRead is walk+open+read+clunk of /proc/boot through the
// Secure9P server (policy layer, ticket session, role checks) over
// loopback TCP.
func BenchmarkBootRead(b *testing.B) {
	h := startHiveBoot(b, benchBoot)
	readLoop(b, dialBench(b, h.addr, queenTicket(b)), []string{"proc", "boot"})
}

// BenchmarkBareStaticFS is the same loop against a bare hugelgupf/p9
// staticfs server holding the same bytes, over loopback TCP.
func BenchmarkBareStaticFS(b *testing.B) {
	readLoop(b, dialBench(b, bareServer(b, benchBoot), ""), []string{"boot"})
}

// bareServer serves boot as the file "boot" from a bare hugelgupf/p9
// staticfs server on loopback until b ends, and returns its address.
func bareServer(b *testing.B, boot []byte) string {
	a, err := staticfs.New(staticfs.WithFile("boot", string(boot)))
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p9.NewServer(a).ServeContext(ctx, l); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	return l.Addr().String()
}
