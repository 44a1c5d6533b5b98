package secure9p

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/ticket"
)

func TestQueenListsRootAndReadsBoot(t *testing.T) {
	h := startHive(t)
	root := h.mustDial(t, queenTicket(t))

	names, err := listDir(root, "/")
	if err != nil {
		t.Fatalf("ls /: %v", err)
	}
	if diff := cmp.Diff([]string{"gpu", "kmesg", "log", "proc", "queen", "trace", "shard", "worker"}, names); diff != "" {
		t.Errorf("ls / (-want +got):\n%s", diff)
	}
	got, err := readFile(root, "/proc/boot")
	if err != nil {
		t.Fatalf("cat /proc/boot: %v", err)
	}
	if string(got) != string(bootText) {
		t.Errorf("cat /proc/boot = %q; want %q", got, bootText)
	}
	if !strings.Contains(h.logText(), "nine-door: attach role=queen subject=none session=1 ticket=cohesix-ticket-…") {
		t.Errorf("queen.log lacks the attach line:\n%s", h.logText())
	}
}

func TestGetAttr(t *testing.T) {
	h := startHive(t)
	root := h.mustDial(t, queenTicket(t))
	for _, tc := range []struct {
		path string
		mode p9.FileMode
		size uint64
		qt   p9.QIDType
	}{
		{"/", p9.ModeDirectory | 0o555, 0, p9.TypeDir},
		{"/proc", p9.ModeDirectory | 0o555, 0, p9.TypeDir},
		{"/proc/boot", p9.ModeRegular | 0o444, uint64(len(bootText)), p9.TypeRegular},
		{"/queen/ctl", p9.ModeRegular | 0o644, 0, p9.TypeAppendOnly},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, f, err := root.Walk(split(tc.path))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			qid, _, attr, err := f.GetAttr(p9.AttrMaskAll)
			if err != nil {
				t.Fatal(err)
			}
			if attr.Mode != tc.mode || attr.Size != tc.size || qid.Type != tc.qt || attr.UID != 0 || attr.GID != 0 {
				t.Errorf("GetAttr(%s) = mode %o size %d qid type %#x uid %d gid %d; want mode %o size %d type %#x",
					tc.path, attr.Mode, attr.Size, qid.Type, attr.UID, attr.GID, tc.mode, tc.size, tc.qt)
			}
		})
	}
}

func TestWorkerAccess(t *testing.T) {
	h := startHive(t)
	qroot := h.mustDial(t, queenTicket(t))
	h.spawn(t, qroot) // worker-1
	h.spawn(t, qroot) // worker-2
	w := h.mustDial(t, workerTicket(t, "worker-1"))
	label := h.ns.ShardLabel("worker-1")

	for _, tc := range []struct {
		name  string
		write bool
		path  string
		want  error
	}{
		{"append own legacy telemetry", true, "/worker/worker-1/telemetry", nil},
		{"append own shard telemetry", true, "/shard/" + label + "/worker/worker-1/telemetry", nil},
		{"read own telemetry", false, "/worker/worker-1/telemetry", nil},
		{"read boot", false, "/proc/boot", nil},
		{"append other worker", true, "/worker/worker-2/telemetry", linux.EPERM},
		{"append other worker shard", true, "/shard/" + h.ns.ShardLabel("worker-2") + "/worker/worker-2/telemetry", linux.EPERM},
		{"read queen ctl", false, "/queen/ctl", linux.EPERM},
		{"write queen ctl", true, "/queen/ctl", linux.EPERM},
		{"write boot", true, "/proc/boot", linux.EPERM},
		{"list root", false, "/", linux.EPERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.write {
				err = writeFile(w, tc.path, "{\"load\":1}\n")
			} else if tc.path == "/" {
				_, err = listDir(w, tc.path)
			} else {
				_, err = readFile(w, tc.path)
			}
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Errorf("%s %s: err = %v; want %v", map[bool]string{true: "write", false: "read"}[tc.write], tc.path, err, tc.want)
			}
		})
	}
	got, err := readFile(w, "/worker/worker-1/telemetry")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(got), "{\"load\":1}\n"); n != 2 {
		t.Errorf("own telemetry holds %d appended records; want 2:\n%s", n, got)
	}
}

func TestAttachRefusals(t *testing.T) {
	h := startHive(t)
	qroot := h.mustDial(t, queenTicket(t))
	h.spawn(t, qroot) // worker-1

	expiredTTL := uint64(1)
	badLimits := ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: nowMs(), Quotas: ticket.Quotas{BandwidthBytes: 1 << 40}}
	forged := queenTicket(t)
	forged = forged[:len(forged)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(forged, "0")]
	for _, tc := range []struct {
		name    string
		aname   string
		want    linux.Errno
		logWant string
	}{
		{"no ticket", "", linux.EPERM, "nine-door: attach denied role=none reason=ticket-required"},
		{"not a ticket", "/proc", linux.EPERM, "reason=invalid-ticket"},
		{"forged mac", forged, linux.EPERM, "nine-door: attach denied role=queen reason=ticket-rejected"},
		{"worker role signed with queen secret", func() string {
			tok, _ := ticket.Mint(ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", IssuedAtMs: nowMs()}, "bootstrap")
			return tok
		}(), linux.EPERM, "role=worker-heartbeat reason=ticket-rejected"},
		{"expired", mint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", TTLs: &expiredTTL, IssuedAtMs: nowMs() - 5000}),
			linux.EPERM, "ui-ticket outcome=deny reason=expired role=worker-heartbeat ticket=cohesix-ticket-… issued_at_ms="},
		{"over limits", mint(t, badLimits), linux.EPERM, "ui-ticket outcome=deny reason=invalid-claims role=queen"},
		{"unknown worker", workerTicket(t, "worker-9"), linux.ENOENT, "role=worker-heartbeat reason=worker-not-found"},
		{"worker without subject", mint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, IssuedAtMs: nowMs()}), linux.EINVAL, "reason=identity-required"},
		{"bus scope", mint(t, ticket.Claims{Role: ticket.RoleWorkerBus, Subject: "can0", IssuedAtMs: nowMs()}), linux.ENOENT, "reason=scope-not-found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.dial(t, tc.aname)
			if !errors.Is(err, tc.want) {
				t.Errorf("attach: err = %v; want %v", err, tc.want)
			}
			if !strings.Contains(h.logText(), tc.logWant) {
				t.Errorf("queen.log lacks %q:\n%s", tc.logWant, h.logText())
			}
			// The server still serves a fresh connection.
			root := h.mustDial(t, queenTicket(t))
			if _, err := readFile(root, "/proc/boot"); err != nil {
				t.Errorf("after refusal: cat /proc/boot: %v", err)
			}
		})
	}
}

func TestUnameAdvisory(t *testing.T) {
	h := startHive(t)
	qroot := h.mustDial(t, queenTicket(t))
	h.spawn(t, qroot)
	for _, tc := range []struct {
		name  string
		uname string
		tok   string
		want  uint32
	}{
		{"queen uname, queen ticket", "queen", queenTicket(t), 0},
		{"local user name ignored", "alice", queenTicket(t), 0},
		{"queen uname, worker ticket", "queen", workerTicket(t, "worker-1"), uint32(linux.EPERM)},
		{"role:id agrees", "worker-heartbeat:worker-1", workerTicket(t, "worker-1"), 0},
		{"role disagrees", "worker-gpu:worker-1", workerTicket(t, "worker-1"), uint32(linux.EPERM)},
		{"subject disagrees", "worker-heartbeat:worker-2", workerTicket(t, "worker-1"), uint32(linux.EPERM)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw(t)
			r.version(8192)
			got := r.call(frame(tTattach, 1, uint32(1), uint32(noFid), tc.uname, tc.tok, uint32(noFid)))
			if got != tc.want {
				t.Errorf("attach uname=%q: errno %d; want %d", tc.uname, got, tc.want)
			}
		})
	}
}

func TestReattachSameConnection(t *testing.T) {
	h := startHive(t)
	tok := queenTicket(t)
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(1, tok); e != 0 {
		t.Fatalf("first attach: errno %d", e)
	}
	// The Linux client attaches again with an empty uname.
	if e := r.call(frame(tTattach, 2, uint32(2), uint32(noFid), "", tok, uint32(noFid))); e != 0 {
		t.Errorf("second attach, same ticket: errno %d; want 0", e)
	}
	other := mint(t, ticket.Claims{Role: ticket.RoleQueen, Subject: "other", IssuedAtMs: nowMs()})
	if e := r.attach(4, other); e != uint32(linux.EPERM) {
		t.Errorf("attach with another ticket: errno %d; want EPERM", e)
	}
}

func TestProtocolRules(t *testing.T) {
	h := startHive(t)
	tok := queenTicket(t)
	walk := func(tag uint16, fid, newfid uint32, names ...string) []byte {
		f := []any{fid, newfid, uint16(len(names))}
		for _, n := range names {
			f = append(f, n)
		}
		return frame(tTwalk, tag, f...)
	}
	for _, tc := range []struct {
		name string
		req  []byte
		want linux.Errno
	}{
		{"walk depth 8 passes policy", walk(5, 1, 2, "a", "b", "c", "d", "e", "f", "g", "h"), linux.ENOENT},
		{"walk depth 9", walk(5, 1, 2, "a", "b", "c", "d", "e", "f", "g", "h", "i"), linux.EINVAL},
		{"dot dot", walk(5, 1, 2, "proc", ".."), linux.EINVAL},
		{"dot", walk(5, 1, 2, "."), linux.EINVAL},
		{"empty name", walk(5, 1, 2, ""), linux.EINVAL},
		{"slash in name", walk(5, 1, 2, "proc/boot"), linux.EINVAL},
		{"long name", walk(5, 1, 2, strings.Repeat("x", 65)), linux.EINVAL},
		{"unknown name", walk(5, 1, 2, "nope"), linux.ENOENT},
		{"auth", frame(tTauth, 5, uint32(9), "", tok, uint32(0)), linux.ENOENT},
		{"remove", frame(tTremove, 5, uint32(1)), linux.EPERM},
		{"mkdir", frame(tTmkdir, 5, uint32(1), "d", uint32(0o755), uint32(0)), linux.EPERM},
		{"unlinkat", frame(tTunlinkat, 5, uint32(1), "proc", uint32(0)), linux.EPERM},
		{"renameat", frame(tTrenameat, 5, uint32(1), "proc", uint32(1), "x"), linux.EPERM},
		{"lcreate", frame(tTlcreate, 5, uint32(1), "f", uint32(0), uint32(0o644), uint32(0)), linux.EPERM},
		{"symlink", frame(tTsymlink, 5, uint32(1), "l", "proc", uint32(0)), linux.EPERM},
		{"mknod", frame(tTmknod, 5, uint32(1), "n", uint32(0), uint32(0), uint32(0), uint32(0)), linux.EPERM},
		{"link", frame(tTlink, 5, uint32(1), uint32(1), "l"), linux.EPERM},
		{"setattr mode", frame(tTsetattr, 5, uint32(1), uint32(0x01), make([]byte, 52)), linux.EPERM},
		{"xattrwalk name", frame(tTxattrwalk, 5, uint32(1), uint32(7), "security.capability"), linux.ENODATA},
		{"xattrwalk list", frame(tTxattrwalk, 5, uint32(1), uint32(7), ""), linux.EOPNOTSUPP},
		{"9P2000 stat", frame(124, 5, uint32(1)), linux.EOPNOTSUPP},
		{"walkgetattr extension", frame(126, 5, uint32(1), uint32(2), uint16(0)), linux.EOPNOTSUPP},
		{"oversized frame", frame(tTwrite, 5, uint32(1), uint64(0), uint32(9000), make([]byte, 9000)), linux.EMSGSIZE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.raw(t)
			if e := r.call(frame(tTgetattr, 5, uint32(1), uint64(0x7ff))); e != uint32(linux.EINVAL) {
				t.Errorf("request before Tversion: errno %d; want EINVAL", e)
			}
			r.version(8192)
			if e := r.attach(1, tok); e != 0 {
				t.Fatalf("attach: errno %d", e)
			}
			if got := r.call(tc.req); got != uint32(tc.want) {
				t.Errorf("errno %d (%v); want %d (%v)", got, linux.Errno(got), tc.want, tc.want)
			}
			// The connection still works; a refused remove still clunks
			// its fid, as 9P requires.
			want := uint32(0)
			if tc.req[4] == tTremove {
				want = uint32(linux.EINVAL)
			}
			if e := r.call(frame(tTgetattr, 6, uint32(1), uint64(0x7ff))); e != want {
				t.Errorf("getattr after refusal: errno %d; want %d", e, want)
			}
		})
	}
}

func TestMsizeNegotiation(t *testing.T) {
	h := startHive(t)
	for _, tc := range []struct{ req, want uint32 }{{65536, 8192}, {8192, 8192}, {4096, 4096}} {
		r := h.raw(t)
		if got := r.version(tc.req); got != tc.want {
			t.Errorf("Tversion msize %d: Rversion msize %d; want %d", tc.req, got, tc.want)
		}
	}
	// The version string is plain 9P2000.L even when a client offers an
	// extension.
	r := h.raw(t)
	r.send(frame(tTversion, noTag, uint32(8192), "9P2000.L.Google.7"))
	_, _, body := r.recv()
	if v := string(body[6:]); v != "9P2000.L" {
		t.Errorf("Rversion version %q; want 9P2000.L", v)
	}
}

func TestAbsurdFrameClosesConnection(t *testing.T) {
	h := startHive(t)
	r := h.raw(t)
	r.version(8192)
	r.send([]byte{0xff, 0xff, 0xff, 0x7f, tTread, 1, 0})
	var b [1]byte
	if _, err := r.nc.Read(b[:]); err == nil {
		t.Errorf("connection still open after a 2 GiB frame header")
	}
	if _, err := readFile(h.mustDial(t, queenTicket(t)), "/proc/boot"); err != nil {
		t.Errorf("server stopped serving: %v", err)
	}
}

func TestFidRetiredAfterClunk(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			h := startHive(t, func(c *Config) { c.StrictFids = strict })
			r := h.raw(t)
			r.version(8192)
			if e := r.attach(1, queenTicket(t)); e != 0 {
				t.Fatalf("attach: errno %d", e)
			}
			if e := r.call(frame(tTwalk, 2, uint32(1), uint32(2), uint16(1), "proc")); e != 0 {
				t.Fatalf("walk: errno %d", e)
			}
			if e := r.call(frame(tTclunk, 2, uint32(2))); e != 0 {
				t.Fatalf("clunk: errno %d", e)
			}
			for _, req := range [][]byte{
				frame(tTgetattr, 3, uint32(2), uint64(0x7ff)),
				frame(tTlopen, 3, uint32(2), uint32(0)),
				frame(tTwalk, 3, uint32(2), uint32(5), uint16(0)),
				frame(tTclunk, 3, uint32(2)),
			} {
				if e := r.call(req); e != uint32(linux.EINVAL) {
					t.Errorf("type %d on clunked fid: errno %d; want EINVAL", req[4], e)
				}
			}
			want := uint32(0)
			if strict {
				want = uint32(linux.EINVAL)
			}
			if e := r.call(frame(tTwalk, 4, uint32(1), uint32(2), uint16(1), "proc")); e != want {
				t.Errorf("walk reintroducing clunked fid: errno %d; want %d", e, want)
			}
		})
	}
}

func TestSetattrTruncateOnAppendFile(t *testing.T) {
	h := startHive(t)
	root := h.mustDial(t, queenTicket(t))
	for _, tc := range []struct {
		path  string
		valid p9.SetAttrMask
		size  uint64
		want  error
	}{
		{"/queen/ctl", p9.SetAttrMask{Size: true}, 0, nil},
		{"/queen/ctl", p9.SetAttrMask{Size: true, MTime: true, CTime: true}, 0, nil},
		{"/queen/ctl", p9.SetAttrMask{Size: true}, 10, linux.EPERM},
		{"/queen/ctl", p9.SetAttrMask{Permissions: true}, 0, linux.EPERM},
		{"/proc/boot", p9.SetAttrMask{Size: true}, 0, linux.EPERM},
		{"/proc", p9.SetAttrMask{Size: true}, 0, linux.EPERM},
	} {
		_, f, err := root.Walk(split(tc.path))
		if err != nil {
			t.Fatal(err)
		}
		err = f.SetAttr(tc.valid, p9.SetAttr{Size: tc.size})
		f.Close()
		if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("SetAttr(%s, %v, size %d) = %v; want %v", tc.path, tc.valid, tc.size, err, tc.want)
		}
	}
}

// gatedConn holds every server write until the gate opens, so requests
// stay in flight.
type gatedConn struct {
	net.Conn
	gate chan struct{}
}

func (g *gatedConn) Write(b []byte) (int, error) {
	<-g.gate
	return g.Conn.Write(b)
}

func TestTagWindow(t *testing.T) {
	h := startHive(t)
	cli, srvEnd := net.Pipe()
	defer cli.Close()
	gate := make(chan struct{}, 64)
	go h.srv.ServeConn(&gatedConn{Conn: srvEnd, gate: gate})
	r := &raw{t: t, nc: cli}
	cli.SetDeadline(time.Now().Add(10 * time.Second))

	gate <- struct{}{}
	msize := r.version(512)
	gate <- struct{}{}
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	busy := h.q.Pressure.Busy.Load()

	// No reply let out: replies leave the policy into the output queue
	// until it holds a tag window of msize bytes (replies.go), the flusher
	// blocked on the first; then the window fills and the rest are
	// refused. An Rgetattr is 160 bytes.
	tags := int(DefaultConfig().Tags)
	n := tags*int(msize)/160 + 1 + tags + 8
	go func() {
		for tag := uint16(10); tag < 10+uint16(n); tag++ {
			cli.Write(frame(tTgetattr, tag, uint32(1), uint64(0x7ff)))
		}
	}()
	// The first refusal is counted before its reply is written (held by
	// the gate): wait for it rather than for a time a loaded machine may
	// not keep.
	for deadline := time.Now().Add(5 * time.Second); h.q.Pressure.Busy.Load() == busy && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	refused := 0
	for range n {
		typ, _, body := r.recv()
		if typ == tRlerror {
			if e := le.Uint32(body); e != uint32(linux.EBUSY) {
				t.Errorf("refusal errno %d; want EBUSY", e)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("%d requests with no reply taken: none refused; want EBUSY beyond %d", n, tags)
	}
	if got := h.q.Pressure.Busy.Load(); got != busy+uint64(refused) {
		t.Errorf("busy pressure %d; want %d", got, busy+uint64(refused))
	}
	// One audit line per refusal, and the session goes on.
	h.logEventually("reason=tag-window-exceeded")
	if got := h.countLog("reason=tag-window-exceeded"); got != refused {
		t.Errorf("%d tag-window audit lines; want %d", got, refused)
	}
	if e := r.call(frame(tTgetattr, 40, uint32(1), uint64(0x7ff))); e != 0 {
		t.Errorf("getattr after the overflow: errno %d", e)
	}
}

func TestErrno(t *testing.T) {
	e := func(class error) error { return errs.New(class, "spec text") }
	for _, tc := range []struct {
		err  error
		want linux.Errno
	}{
		{e(errs.ErrPermission), linux.EPERM},
		{e(errs.ErrNotFound), linux.ENOENT},
		{e(errs.ErrBusy), linux.EBUSY},
		{e(errs.ErrInvalid), linux.EINVAL},
		{e(errs.ErrTooBig), linux.EMSGSIZE},
		{e(errs.ErrQuota), linux.EDQUOT},
		{e(errs.ErrCut), linux.EHOSTUNREACH},
		{e(errs.ErrClosed), linux.EBADF},
		{fmt.Errorf("wrapped: %w", e(errs.ErrNotFound)), linux.ENOENT},
		{errors.New("disk on fire"), linux.EIO},
		{linux.ENODATA, linux.ENODATA},
	} {
		if got := Errno(tc.err); got != tc.want {
			t.Errorf("Errno(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}

// TestPipelinedAppendsKeepOrder: Twrites at explicit offsets sent back to
// back on one connection are applied in arrival order, so a client may
// pipeline a segment's records (DECISIONS P29) although hugelgupf/p9
// handles requests concurrently; an offset-checked append that overtook
// its predecessor would be refused.
func TestPipelinedAppendsKeepOrder(t *testing.T) {
	h := startHive(t)
	root := h.mustDial(t, queenTicket(t))
	const base = "/queen/telemetry/pipe"
	if err := writeFile(root, base+"/ctl", `{"new":"segment","mime":"text/plain"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	latest, err := readFile(root, base+"/latest")
	if err != nil {
		t.Fatal(err)
	}
	seg := strings.TrimSpace(string(latest))
	r := h.raw(t)
	r.version(8192)
	if e := r.attach(1, queenTicket(t)); e != 0 {
		t.Fatalf("attach: errno %d", e)
	}
	names := split(base + "/seg/" + seg)
	walk := []any{uint32(1), uint32(2), uint16(len(names))}
	for _, n := range names {
		walk = append(walk, n)
	}
	if e := r.call(frame(tTwalk, 2, walk...)); e != 0 {
		t.Fatalf("walk: errno %d", e)
	}
	if e := r.call(frame(tTlopen, 3, uint32(2), uint32(p9.WriteOnly))); e != 0 {
		t.Fatalf("open: errno %d", e)
	}
	const records, size = 8, 4096
	var want []byte
	var batch []byte
	for i := range records {
		rec := append(bytes.Repeat([]byte{'a' + byte(i)}, size-1), '\n')
		want = append(want, rec...)
		batch = append(batch, frame(tTwrite, uint16(10+i), uint32(2), uint64(i*size), uint32(size), rec)...)
	}
	r.send(batch) // all eight in flight at once
	for range records {
		typ, tag, body := r.recv()
		if typ == tRlerror {
			t.Fatalf("Twrite tag %d: errno %d", tag, le.Uint32(body))
		}
		if n := le.Uint32(body); n != size {
			t.Fatalf("Twrite tag %d: wrote %d", tag, n)
		}
	}
	got, err := readFile(root, base+"/seg/"+seg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("segment holds %d bytes, not the %d records in order", len(got), records)
	}
}

// TestAttachThrottle: a peer's failed Tattaches hold that peer back with
// EAGAIN before its ticket is checked, while another address attaches.
func TestAttachThrottle(t *testing.T) {
	h := startHiveQueen(t, queen.Default(), bootText)
	forged := queenTicket(t)
	forged = forged[:len(forged)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(forged, "0")]
	if _, err := h.dialFrom(t, "127.0.0.2", forged); !errors.Is(err, linux.EPERM) {
		t.Fatalf("first forged attach: err = %v; want EPERM", err)
	}
	// Held back: even a good ticket from the attacker's address waits.
	if _, err := h.dialFrom(t, "127.0.0.2", queenTicket(t)); !errors.Is(err, linux.EAGAIN) {
		t.Errorf("attach while held back: err = %v; want EAGAIN", err)
	}
	root := h.mustDial(t, queenTicket(t)) // 127.0.0.1
	if _, err := readFile(root, "/proc/boot"); err != nil {
		t.Errorf("operator read: %v", err)
	}
	log := h.logText()
	for _, want := range []string{
		"nine-door: attach denied role=queen reason=ticket-rejected transport=9p remote=127.0.0.2:",
		"nine-door: attach role=queen subject=none session=1 ticket=cohesix-ticket-… transport=9p remote=127.0.0.1:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("queen.log lacks %q:\n%s", want, log)
		}
	}
	if peers := h.q.Snapshot().Peers; len(peers) != 1 || peers[0].Key != "peer=127.0.0.2" {
		t.Errorf("blocked peers = %+v; want 127.0.0.2 alone", peers)
	}
}

// TestAttachLifecycleGate: a worker's Tattach while the worker-attach gate
// is closed (QUIESCED) is refused EPERM by the queen before any later check
// (an expired ticket, a worker that no longer runs), with the gate's audit
// lines; the queen still attaches.
func TestAttachLifecycleGate(t *testing.T) {
	h := startHive(t)
	qroot := h.mustDial(t, queenTicket(t))
	h.spawn(t, qroot) // worker-1
	for _, line := range []struct{ path, data string }{
		{"/queen/lifecycle/ctl", "cordon\n"},
		{"/queen/ctl", `{"kill":"worker-1"}` + "\n"},
		{"/queen/lifecycle/ctl", "drain\n"},
	} {
		if err := writeFile(qroot, line.path, line.data); err != nil {
			t.Fatalf("write %s %q: %v", line.path, line.data, err)
		}
	}
	expiredTTL := uint64(1)
	for _, aname := range []string{
		workerTicket(t, "worker-1"),
		mint(t, ticket.Claims{Role: ticket.RoleWorkerHeartbeat, Subject: "worker-1", TTLs: &expiredTTL, IssuedAtMs: nowMs() - 5000}),
	} {
		if _, err := h.dial(t, aname); !errors.Is(err, linux.EPERM) {
			t.Fatalf("worker attach while QUIESCED: err = %v; want EPERM", err)
		}
	}
	log := h.logText()
	for _, want := range []string{
		"lifecycle denied action=worker-attach state=QUIESCED reason=gate-denied",
		"nine-door: attach denied role=worker-heartbeat reason=gate-denied transport=9p remote=127.0.0.1:",
	} {
		if strings.Count(log, want) != 2 {
			t.Errorf("queen.log has %q %d times; want 2:\n%s", want, strings.Count(log, want), log)
		}
	}
	if strings.Contains(log, "reason=expired") || strings.Contains(log, "worker-not-found") {
		t.Errorf("a later check spoke before the gate:\n%s", log)
	}
	h.mustDial(t, queenTicket(t))
}
