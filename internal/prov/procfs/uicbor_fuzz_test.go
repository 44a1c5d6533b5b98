package procfs_test

import (
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/internal/prov/procfs"
)

// FuzzTextCBOR: any provider text encodes within the cap to CBOR that
// decodes as an array of maps.
func FuzzTextCBOR(f *testing.F) {
	for _, s := range []string{"", "sessions total=3 worker=1\nshard 00 0\n", "a=b=c ==x =\n\n  k=18446744073709551616 k=1\n", "\x00\xff=\x01\n"} {
		f.Add([]byte(s), 64)
	}
	f.Fuzz(func(t *testing.T, text []byte, max int) {
		max = 64 + max&0xffff
		b := procfs.TextCBOR(text, max)
		var lines []map[string]any
		if err := cbor.Unmarshal(b, &lines); err != nil {
			t.Fatalf("TextCBOR(%q) = %x: %v", text, b, err)
		}
		if len(b) > max && len(lines) > 0 {
			t.Fatalf("TextCBOR(%q, %d) = %d bytes", text, max, len(b))
		}
	})
}
