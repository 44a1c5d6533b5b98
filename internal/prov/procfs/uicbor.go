package procfs

import (
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
)

// UI providers' CBOR variants (milestone 20b, DECISIONS P85): a text
// provider enabled under ui_providers.* is served a second time as
// <node>.cbor, for a UI that would rather not parse lines.

var uiCBOR, _ = cbor.CoreDetEncOptions().EncMode()

// TextCBOR encodes a provider's text as CBOR: an array with one map per
// non-empty line. A key=value token is an entry of the map (an unsigned
// decimal value as an integer, any other as text; the first of a repeated
// key stands); the words without "=" are, in order, the array under the
// key "". Bytes that are not UTF-8 become U+FFFD. Core deterministic encoding (sorted keys), so equal text is
// equal bytes. Lines past max bytes of CBOR are left out, whole.
func TextCBOR(text []byte, max int) []byte {
	var lines []map[string]any
	for _, l := range strings.Split(string(text), "\n") {
		if m := lineMap(l); m != nil {
			lines = append(lines, m)
		}
	}
	for n := len(lines); ; n /= 2 {
		b, err := uiCBOR.Marshal(lines[:n])
		if err == nil && (len(b) <= max || n == 0) {
			return b
		}
	}
}

// lineMap is one line's map, nil for a blank line.
func lineMap(l string) map[string]any {
	toks := strings.Fields(strings.ToValidUTF8(l, "\uFFFD")) // CBOR text is UTF-8
	if len(toks) == 0 {
		return nil
	}
	m := map[string]any{}
	var words []string
	for _, t := range toks {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			words = append(words, t)
			continue
		}
		if _, seen := m[k]; seen {
			continue
		}
		if u, err := strconv.ParseUint(v, 10, 64); err == nil {
			m[k] = u
		} else {
			m[k] = v
		}
	}
	if len(words) > 0 {
		m[""] = words
	}
	return m
}

// withCBOR appends, after each entry whose toggle is on, its .cbor
// variant rendering the same text.
func withCBOR(es []ns.Entry, dir string, toggles map[string]bool) []ns.Entry {
	out := make([]ns.Entry, 0, len(es))
	for _, e := range es {
		out = append(out, e)
		c, ok := e.Node.(ns.Content)
		if !ok || !toggles[e.Name] {
			continue
		}
		out = append(out, ns.Entry{Name: e.Name + ".cbor", Node: ns.Content{
			ReadOnly: ns.ReadOnly{Path: dir + "/" + e.Name + ".cbor"},
			Render:   func() []byte { return TextCBOR(c.Render(), generated.UiProvidersCborMaxBytes) },
		}})
	}
	return out
}
