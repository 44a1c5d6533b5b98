// Package nineclient is the host tools' Secure9P client: a thin layer over
// github.com/hugelgupf/p9 that attaches with a capability ticket (DECISIONS
// D3) and offers whole-path reads, bounded reads, appends, listings and
// stats. coh and gpu-bridge-host use it; it never bypasses the hive's
// policy, which the server enforces.
package nineclient

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/hugelgupf/p9/linux"
	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ticket"
)

// Client is one attached Secure9P session. Safe for concurrent use.
type Client struct {
	nc      net.Conn
	c       *p9.Client
	root    p9.File
	addr    string // for Pipeline
	tok     string
	uname   string // for Pipeline
	timeout time.Duration
}

// Dial connects to addr and attaches with tok (a cohesix-ticket-...).
func Dial(addr, tok string, timeout time.Duration) (*Client, error) {
	return DialAs(addr, tok, "", timeout)
}

// DialAs is Dial with a Tattach uname: hive-gateway attaches with
// "via=<client ip:port>" so that the hive, which trusts the gateway's
// address (network.trusted_forwarders, DECISIONS P48), throttles and
// audits the HTTP client rather than the gateway. Its Pipeline attaches
// with the same uname. "" is Dial.
func DialAs(addr, tok, uname string, timeout time.Duration) (*Client, error) {
	return dial(addr, tok, uname, generated.Secure9pMsize, timeout)
}

// DialMsize is Dial negotiating msize (at most secure9p.msize): a worker's
// heartbeat session asks for client_policies.heartbeat.msize, which is
// what the hive then holds per session for it. Reads and writes larger
// than the negotiated payload are split by the client.
func DialMsize(addr, tok string, msize uint32, timeout time.Duration) (*Client, error) {
	return dial(addr, tok, "", min(msize, generated.Secure9pMsize), timeout)
}

func dial(addr, tok, uname string, msize uint32, timeout time.Duration) (*Client, error) {
	if len(uname) > maxUname {
		return nil, fmt.Errorf("9p attach: uname of %d bytes is too long", len(uname))
	}
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	bc := &bufConn{Conn: nc, r: bufio.NewReaderSize(nc, int(msize)), uname: uname}
	c, err := p9.NewClient(bc, p9.WithMessageSize(msize))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("9p version: %w", err)
	}
	root, err := attachRetrying(c, tok)
	if err != nil {
		c.Close()
		if errors.Is(err, linux.EAGAIN) {
			return nil, fmt.Errorf("9p attach: %w (the hive is holding this address back after failed attaches; wait and try again, `cat /proc/peers` shows the delay)", err)
		}
		return nil, fmt.Errorf("9p attach: %w", err)
	}
	return &Client{nc: nc, c: c, root: root, addr: addr, tok: tok, uname: uname, timeout: timeout}, nil
}

// attachRetrying attaches, and while the hive answers EAGAIN (its
// per-peer throttle holds this address back, DECISIONS P7) tries again
// after the manifest's client back-off, client_policies.retry.
func attachRetrying(c *p9.Client, tok string) (p9.File, error) {
	wait := time.Duration(generated.ClientPoliciesRetryBackoffMs) * time.Millisecond
	for attempt := 1; ; attempt++ {
		root, err := c.Attach(tok)
		if !errors.Is(err, linux.EAGAIN) || attempt >= generated.ClientPoliciesRetryMaxAttempts {
			return root, err
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Duration(generated.ClientPoliciesRetryCeilingMs)*time.Millisecond)
	}
}

// bufConn saves system calls under hugelgupf/p9's client: it reads each
// reply as a 7-byte header and then its body (two read(2)s where one
// does), and hands each request over in two or three pieces, which only a
// bare *net.TCPConn would gather into one writev. Reads go through a
// buffer; writes are collected and sent a whole message at a time (the
// client sends under its own lock, one message after another).
type bufConn struct {
	net.Conn
	r     *bufio.Reader
	w     []byte // guarded by the p9 client's send lock
	uname string // written into each Tattach (hugelgupf/p9 always sends "")
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufConn) Write(p []byte) (int, error) {
	c.w = append(c.w, p...)
	for len(c.w) >= 4 {
		size := int(binary.LittleEndian.Uint32(c.w))
		if size < 7 {
			return 0, fmt.Errorf("9p: malformed outgoing message size %d", size)
		}
		if len(c.w) < size {
			break
		}
		if _, err := c.Conn.Write(withUname(c.w[:size], c.uname)); err != nil {
			return 0, err
		}
		c.w = c.w[:copy(c.w, c.w[size:])]
	}
	return len(p), nil
}

// maxUname bounds a uname so that a Tattach with it and the longest
// ticket stays well inside the msize.
const maxUname = generated.Secure9pMsize / 8

// withUname returns msg with uname in place of the empty uname of a
// Tattach (size[4] type[1] tag[2] fid[4] afid[4] uname[s] aname[s]
// n_uname[4]); any other message, or a Tattach that already names a user,
// is returned as it is.
func withUname(msg []byte, uname string) []byte {
	const at = 4 + 1 + 2 + 4 + 4
	if uname == "" || len(msg) < at+2 || msg[4] != msgTattach || binary.LittleEndian.Uint16(msg[at:]) != 0 {
		return msg
	}
	out := make([]byte, 0, len(msg)+len(uname))
	out = append(out, msg[:at]...)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(uname)))
	out = append(out, uname...)
	out = append(out, msg[at+2:]...)
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	return out
}

// readChunk is the most one Tread carries: hugelgupf/p9's client splits a
// read into pieces of roundDown(msize - its largest fixed header, 512)
// bytes, 7680 at msize 8192. Reads sized to it cost one round trip each;
// a buffer of msize-64 cost two (7680 + 448). Were the client's piece ever
// smaller, reads would still be right, only split again.
const readChunk = generated.Secure9pMsize/512*512 - 512

// MintQueen mints a queen ticket from the compiled manifest's secret
// (dev profiles only carry one; production refuses fixture secrets).
func MintQueen(now time.Time) (string, error) {
	return Mint(ticket.RoleQueen, "", now)
}

// Mint mints a ticket for role from the compiled manifest's secret.
func Mint(role ticket.Role, subject string, now time.Time) (string, error) {
	secret, ok := ticket.ManifestSecret(role)
	if !ok {
		return "", fmt.Errorf("no ticket secret for role %s in the manifest", role)
	}
	c := ticket.Claims{Role: role, Subject: subject, IssuedAtMs: uint64(now.UnixMilli())}
	if role == ticket.RoleWorkerGPU {
		ops, ttl := uint64(generated.QueenGpuDefaultOps), uint64(generated.QueenGpuDefaultTtlS)
		c.Ops, c.TTLs = &ops, &ttl
	}
	return ticket.Mint(c, secret)
}

// Close ends the session.
func (c *Client) Close() error { return c.c.Close() }

// Split turns an absolute path into walk components.
func Split(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

func (c *Client) walk(path string) (p9.File, error) {
	_, f, err := c.root.Walk(Split(path))
	return f, err
}

// Walk returns a fresh fid for path, unopened; the caller closes it.
// coh mount uses it to keep one fid per open FUSE handle.
func (c *Client) Walk(path string) (p9.File, error) { return c.walk(path) }

// Stat describes one path.
type Stat struct {
	Dir  bool
	Mode uint32
	Size uint64
}

// Stat returns the node's mode and size.
func (c *Client) Stat(path string) (Stat, error) {
	f, err := c.walk(path)
	if err != nil {
		return Stat{}, err
	}
	defer f.Close()
	_, _, a, err := f.GetAttr(p9.AttrMask{Mode: true, Size: true})
	if err != nil {
		return Stat{}, err
	}
	return Stat{Dir: a.Mode.IsDir(), Mode: uint32(a.Mode.Permissions()), Size: a.Size}, nil
}

// openPath walks path from root and opens the new fid in mode; the
// caller closes it. A fid that fails to open is closed here.
func openPath(root p9.File, path string, mode p9.OpenFlags) (p9.File, error) {
	_, f, err := root.Walk(Split(path))
	if err != nil {
		return nil, err
	}
	if _, _, err := f.Open(mode); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFrom reads path, walked from root, from off to EOF, at most max
// bytes (0: unbounded). Like Append and List it works on any attached
// root, a Client's or one attached through hugelgupf/p9 directly.
func ReadFrom(root p9.File, path string, off int64, max int) ([]byte, error) {
	f, err := openPath(root, path, p9.ReadOnly)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []byte
	// Several chunks per call: the client issues them back to back and
	// stops at the first short one, so no Tread is split.
	buf := make([]byte, 4*readChunk)
	if max > 0 {
		buf = buf[:min(len(buf), (max/readChunk+1)*readChunk)]
	}
	for {
		n, err := f.ReadAt(buf, off+int64(len(out)))
		out = append(out, buf[:n]...)
		if max > 0 && len(out) > max {
			return nil, fmt.Errorf("%s exceeds %d bytes", path, max)
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// ReadFrom is the package function on the session's root.
func (c *Client) ReadFrom(path string, off int64, max int) ([]byte, error) {
	return ReadFrom(c.root, path, off, max)
}

// Read reads a whole file, at most max bytes (0: unbounded).
func (c *Client) Read(path string, max int) ([]byte, error) { return c.ReadFrom(path, 0, max) }

// Append writes each record to path, walked from root, as one Twrite at offset off (-1: the file's
// current end as Stat reports it, for offset-checked files), in order,
// each waiting for the one before; bulk appends use Pipeline.Append.
func Append(root p9.File, path string, off int64, records ...[]byte) (int, error) {
	f, err := openPath(root, path, p9.WriteOnly)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if off < 0 {
		_, _, a, err := f.GetAttr(p9.AttrMask{Size: true})
		if err != nil {
			return 0, err
		}
		off = int64(a.Size)
	}
	total := 0
	for _, r := range records {
		n, err := f.WriteAt(r, off)
		total += n
		if err != nil {
			return total, err
		}
		off += int64(n)
		if n < len(r) {
			return total, fmt.Errorf("short write %d of %d", n, len(r))
		}
	}
	return total, nil
}

// AppendAtEnd writes line to path, walked from root, as one Twrite at
// offset u64::MAX, which Secure9P takes as a write with no offset
// (ns.Node.Append's -1): the hive appends it at the end as it applies it
// and checks no offset, as it does for the console's echo. Offset-checked
// files (KindAppendOffset: /audit/journal, /replay/ctl) take it too, where
// a write at a stale offset would be refused. line must fit one Twrite.
func AppendAtEnd(root p9.File, path string, line []byte) (int, error) {
	if len(line) > int(generated.Secure9pMsize)-64 {
		return 0, fmt.Errorf("append of %d bytes does not fit one Twrite", len(line))
	}
	f, err := openPath(root, path, p9.WriteOnly)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := f.WriteAt(line, -1)
	if err == nil && n < len(line) {
		err = fmt.Errorf("short write %d of %d", n, len(line))
	}
	return n, err
}

// AppendAtEnd is the package function on the session's root.
func (c *Client) AppendAtEnd(path string, line []byte) (int, error) {
	return AppendAtEnd(c.root, path, line)
}

// Append is the package function on the session's root.
func (c *Client) Append(path string, off int64, records ...[]byte) (int, error) {
	return Append(c.root, path, off, records...)
}

// List returns the entry names of path, walked from root, in the
// server's order.
func List(root p9.File, path string) ([]string, error) {
	f, err := openPath(root, path, p9.ReadOnly)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	off := uint64(0)
	for {
		ents, err := f.Readdir(off, uint32(generated.Secure9pMsize-64))
		if err != nil {
			return names, err
		}
		if len(ents) == 0 {
			return names, nil
		}
		for _, e := range ents {
			names = append(names, e.Name)
			off = e.Offset
		}
	}
}

// List is the package function on the session's root.
func (c *Client) List(path string) ([]string, error) { return List(c.root, path) }

// Pipeline opens a second session with the same address and ticket for
// bulk transfer (telemetry push and pull).
func (c *Client) Pipeline() (*Pipeline, error) {
	return DialPipelineAs(c.addr, c.tok, c.uname, c.timeout)
}
