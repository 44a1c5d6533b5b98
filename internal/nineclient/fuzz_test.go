package nineclient

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/hugelgupf/p9/p9"
)

// discardConn is a net.Conn whose writes go nowhere; replies come from
// the fuzzer through Pipeline.br.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }

// replyFrame encodes one reply frame.
func replyFrame(typ byte, tag uint16, body []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(7+len(body)))
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint16(b, tag)
	return append(b, body...)
}

// FuzzPipelineReplies feeds arbitrary bytes as the server's replies to an
// exchange of every request kind a Pipeline sends: it never panics, and a
// call without an error holds a reply within what it asked.
func FuzzPipelineReplies(f *testing.F) {
	qid := make([]byte, 13)
	attr := make([]byte, 8+13+4+4+4+8+8+8)
	binary.LittleEndian.PutUint64(attr[49:], 42)
	var good []byte
	good = append(good, replyFrame(111, 0, append([]byte{1, 0}, qid...))...)      // Rwalk
	good = append(good, replyFrame(13, 1, append(qid, 0, 0, 0, 0))...)            // Rlopen
	good = append(good, replyFrame(25, 2, attr)...)                               // Rgetattr
	good = append(good, replyFrame(117, 3, []byte{3, 0, 0, 0, 'a', 'b', 'c'})...) // Rread
	good = append(good, replyFrame(119, 4, []byte{5, 0, 0, 0})...)                // Rwrite
	good = append(good, replyFrame(121, 5, nil)...)                               // Rclunk
	f.Add(good)
	f.Add(replyFrame(7, 2, []byte{2, 0, 0, 0}))                        // Rlerror
	f.Add(append(replyFrame(121, 5, nil), replyFrame(121, 5, nil)...)) // a tag twice
	f.Add(replyFrame(25, 2, []byte{1, 2, 3}))                          // short Rgetattr
	f.Fuzz(func(t *testing.T, replies []byte) {
		p := &Pipeline{nc: discardConn{}, br: bufio.NewReader(bytes.NewReader(replies)), msize: 8192}
		b := p.batch()
		dst := make([]byte, 16)
		calls := []*call{
			b.walk(rootFid, 1, []string{"seg"}), b.open(1, p9.ReadOnly), b.getattr(1),
			b.read(1, 0, dst), b.write(1, 0, []byte("hello")), b.clunk(1),
		}
		if err := b.run(); err != nil {
			return
		}
		for _, c := range calls {
			if c.err != nil {
				continue
			}
			if !c.answered {
				t.Fatalf("call %d has neither a reply nor an error", c.typ)
			}
			if c.typ == msgTread && c.n > len(dst) {
				t.Fatalf("read returned %d bytes for %d asked", c.n, len(dst))
			}
		}
	})
}

// FuzzDirents: appendDirents decodes any Rreaddir payload without a
// panic; what it returns holds only names the payload carried.
func FuzzDirents(f *testing.F) {
	ent := func(name string, off uint64) []byte {
		b := make([]byte, 13)
		b = binary.LittleEndian.AppendUint64(b, off)
		b = append(b, 4)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
		return append(b, name...)
	}
	f.Add(append(append(ent(".", 1), ent("..", 2)...), ent("seg-1", 3)...))
	f.Add(ent("x", 9)[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		names, _, _, err := appendDirents(nil, b)
		if err != nil {
			return
		}
		for _, n := range names {
			if n == "." || n == ".." || !bytes.Contains(b, []byte(n)) {
				t.Fatalf("name %q not from the payload, or a dot entry", n)
			}
		}
	})
}

// TestAppendDirents: entries decode in order without . and .., the
// offset to read on from is the last entry's, and the longest name is
// measured in the same walk.
func TestAppendDirents(t *testing.T) {
	var b []byte
	for i, name := range []string{".", "..", "seg-1", "seg-2"} {
		b = append(b, make([]byte, 13)...)
		b = binary.LittleEndian.AppendUint64(b, uint64(i+1))
		b = append(b, 4)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
	}
	names, off, longest, err := appendDirents(nil, b)
	if err != nil || len(names) != 2 || names[0] != "seg-1" || names[1] != "seg-2" || off != 4 || longest != len("seg-1") {
		t.Fatalf("appendDirents = %q, %d, longest %d, %v", names, off, longest, err)
	}
	if _, _, _, err := appendDirents(nil, b[:len(b)-1]); err == nil {
		t.Fatal("a cut entry decoded")
	}
}
