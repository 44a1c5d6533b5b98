package secure9p

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

var bootText = []byte("cohesix boot: hosted root task\nmanifest=dev\n")

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// hive is a running queen and namespace behind a Secure9P listener.
type hive struct {
	q    *queen.Queen
	ns   *gate.Namespace
	srv  *Server
	addr string
}

func startHive(t testing.TB, mod ...func(*Config)) *hive {
	t.Helper()
	return startHiveBoot(t, bootText, mod...)
}

// unthrottled is the manifest's queen with the per-peer throttle and the
// audit summary off: these tests refuse many attaches from one address
// and read each refusal's line. TestAttachThrottle runs the real one.
func unthrottled() queen.Config {
	cfg := queen.Default()
	cfg.Throttle.BackoffBaseMs = 0
	cfg.Throttle.LockoutFailures = 1 << 30
	cfg.Peers.AuditWindowMs = 0
	return cfg
}

func startHiveBoot(t testing.TB, boot []byte, mod ...func(*Config)) *hive {
	t.Helper()
	return startHiveQueen(t, unthrottled(), boot, mod...)
}

func startHiveQueen(t testing.TB, qcfg queen.Config, boot []byte, mod ...func(*Config)) *hive {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	q := queen.New(qcfg, realClock{}, 64)
	go q.Run(ctx, nil)
	for q.Snapshot().Lifecycle.State != "ONLINE" {
		time.Sleep(time.Millisecond)
	}
	ns := gate.New(q, gate.DefaultConfig(), boot, nil)
	cfg := DefaultConfig()
	for _, m := range mod {
		m(&cfg)
	}
	srv := NewServer(ns, cfg, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &hive{q: q, ns: ns, srv: srv, addr: l.Addr().String()}
}

func mint(t testing.TB, c ticket.Claims) string {
	t.Helper()
	secret := map[ticket.Role]string{ticket.RoleQueen: "bootstrap", ticket.RoleWorkerHeartbeat: "worker",
		ticket.RoleWorkerGPU: "worker-gpu", ticket.RoleWorkerBus: "worker-bus", ticket.RoleWorkerLora: "worker-lora"}[c.Role]
	tok, err := ticket.Mint(c, secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func nowMs() uint64 { return uint64(time.Now().UnixMilli()) }

func queenTicket(t testing.TB) string {
	return mint(t, ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: nowMs()})
}

func workerTicket(t testing.TB, id string) string {
	ttl := uint64(300)
	return mint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: id, TTLs: &ttl, IssuedAtMs: nowMs()})
}

// dial connects a p9 client and attaches with aname.
func (h *hive) dial(t testing.TB, aname string) (p9.File, error) {
	t.Helper()
	return h.dialFrom(t, "127.0.0.1", aname)
}

// dialFrom is dial from the loopback address ip.
func (h *hive) dialFrom(t testing.TB, ip, aname string) (p9.File, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	nc, err := d.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p9.NewClient(nc, p9.WithMessageSize(8192))
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.Attach(aname)
}

func (h *hive) mustDial(t testing.TB, aname string) p9.File {
	t.Helper()
	root, err := h.dial(t, aname)
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	return root
}

func split(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

func readFile(root p9.File, path string) ([]byte, error) {
	return nineclient.ReadFrom(root, path, 0, 0)
}

func writeFile(root p9.File, path string, data string) error {
	return appendAt(root, path, []byte(data), 0)
}

// appendAt writes one record at off through the 9P client.
func appendAt(root p9.File, path string, rec []byte, off uint64) error {
	_, err := nineclient.Append(root, path, int64(off), rec)
	return err
}

func listDir(root p9.File, path string) ([]string, error) { return nineclient.List(root, path) }

// spawn starts a heartbeat worker through the queen's ctl file.
func (h *hive) spawn(t testing.TB, root p9.File) {
	t.Helper()
	if err := writeFile(root, "/queen/ctl", `{"spawn":"heartbeat","ticks":5}`+"\n"); err != nil {
		t.Fatalf("spawn: %v", err)
	}
}

// logText is the retained /log/queen.log.
// logEventually reports whether queen.log holds sub within a few seconds:
// for lines an operation submits after it answers.
func (h *hive) logEventually(sub string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(h.logText(), sub) {
			return true
		}
	}
	return strings.Contains(h.logText(), sub)
}

func (h *hive) logText() string {
	return strings.Join(h.q.Snapshot().Log, "\n")
}

// raw is a hand-driven 9P connection for rules a client library will not
// break on purpose.
type raw struct {
	t  testing.TB
	nc net.Conn
}

func (h *hive) raw(t testing.TB) *raw {
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &raw{t: t, nc: nc}
}

// frame builds a frame from body fields: uint8, uint16, uint32, uint64,
// string (9P str) or []byte (verbatim).
func frame(typ byte, tag uint16, fields ...any) []byte {
	b := []byte{0, 0, 0, 0, typ, byte(tag), byte(tag >> 8)}
	for _, f := range fields {
		switch v := f.(type) {
		case uint8:
			b = append(b, v)
		case uint16:
			b = le.AppendUint16(b, v)
		case uint32:
			b = le.AppendUint32(b, v)
		case uint64:
			b = le.AppendUint64(b, v)
		case int:
			b = le.AppendUint32(b, uint32(v))
		case string:
			b = le.AppendUint16(b, uint16(len(v)))
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		default:
			panic("frame: bad field")
		}
	}
	le.PutUint32(b, uint32(len(b)))
	return b
}

func (r *raw) send(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// recv reads one reply frame.
func (r *raw) recv() (typ byte, tag uint16, body []byte) {
	r.t.Helper()
	var hdr [7]byte
	if _, err := io.ReadFull(r.nc, hdr[:]); err != nil {
		r.t.Fatalf("recv: %v", err)
	}
	body = make([]byte, le.Uint32(hdr[:])-7)
	if _, err := io.ReadFull(r.nc, body); err != nil {
		r.t.Fatalf("recv body: %v", err)
	}
	return hdr[4], le.Uint16(hdr[5:]), body
}

// call sends a frame and returns the reply's errno (0 for a non-error).
func (r *raw) call(b []byte) uint32 {
	r.t.Helper()
	r.send(b)
	typ, _, body := r.recv()
	if typ == tRlerror {
		return le.Uint32(body)
	}
	return 0
}

func (r *raw) version(msize uint32) uint32 {
	r.t.Helper()
	r.send(frame(tTversion, noTag, msize, "9P2000.L"))
	typ, _, body := r.recv()
	if typ != tRversion {
		r.t.Fatalf("Tversion: reply type %d", typ)
	}
	return le.Uint32(body)
}

func (r *raw) attach(fid uint32, aname string) uint32 {
	return r.call(frame(tTattach, 1, fid, uint32(noFid), "", aname, uint32(noFid)))
}
