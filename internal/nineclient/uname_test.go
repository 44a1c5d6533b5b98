package nineclient

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// tattach is a Tattach frame as hugelgupf/p9 sends it, with uname.
func tattach(uname, aname string) []byte {
	b := []byte{0, 0, 0, 0, msgTattach, 1, 0}
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, noFid)
	for _, s := range []string{uname, aname} {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint32(b, noFid)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// TestWithUname: DialAs's uname goes into the Tattach hugelgupf/p9 sends
// with none, the frame's size follows, and nothing else is touched.
func TestWithUname(t *testing.T) {
	const via = "via=192.0.2.7:443"
	if got, want := withUname(tattach("", "cohesix-ticket-x"), via), tattach(via, "cohesix-ticket-x"); !bytes.Equal(got, want) {
		t.Errorf("withUname(Tattach) = %q; want %q", got, want)
	}
	for _, msg := range [][]byte{tattach("queen", "t"), {7, 0, 0, 0, msgTversion, 0xff, 0xff}} {
		if got := withUname(msg, via); !bytes.Equal(got, msg) {
			t.Errorf("withUname(%q) = %q; want it unchanged", msg, got)
		}
	}
	if got := withUname(tattach("", "t"), ""); !bytes.Equal(got, tattach("", "t")) {
		t.Errorf("withUname with no uname changed the frame: %q", got)
	}
}
