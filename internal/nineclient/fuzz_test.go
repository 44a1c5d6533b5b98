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
