package procfs_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/procfs"
)

func detCBOR(t testing.TB, v any) []byte {
	t.Helper()
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := em.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTextCBOR: each line becomes a map, key=value tokens its entries
// (decimal values as integers), the bare words an array under "".
func TestTextCBOR(t *testing.T) {
	text := "sessions total=3 worker=1 shard_bits=8\nshard 00 0\n\ncut_reason=\nstate=ONLINE total=9 total=7\n"
	want := detCBOR(t, []map[string]any{
		{"": []string{"sessions"}, "total": uint64(3), "worker": uint64(1), "shard_bits": uint64(8)},
		{"": []string{"shard", "00", "0"}},
		{"cut_reason": ""},
		{"state": "ONLINE", "total": uint64(9)},
	})
	if got := procfs.TextCBOR([]byte(text), 1<<20); !bytes.Equal(got, want) {
		t.Errorf("TextCBOR = %x; want %x", got, want)
	}
	// Over the cap, whole lines are left out from the end.
	small := procfs.TextCBOR([]byte(text), 40)
	var lines []map[string]any
	if err := cbor.Unmarshal(small, &lines); err != nil || len(small) > 40 || len(lines) == 0 || len(lines) >= 4 {
		t.Errorf("TextCBOR at 40 bytes = %d bytes, %d lines, %v; want fewer whole lines within 40", len(small), len(lines), err)
	}
}

// TestUIProviderCBORVariants: every text provider enabled under
// ui_providers.* is listed with its .cbor variant beside it, and the
// variant encodes what the text file reads.
func TestUIProviderCBORVariants(t *testing.T) {
	f := newFixture(t)
	f.busy()
	p := ns.Plain(f.root)
	var cases []nstest.Case
	for _, c := range []struct {
		on   bool
		path string
	}{
		{generated.UiProvidersProc9pSessions, "9p/sessions"},
		{generated.UiProvidersProc9pOutstanding, "9p/outstanding"},
		{generated.UiProvidersProc9pShortWrites, "9p/short_writes"},
		{generated.UiProvidersProcIngestP50Ms, "ingest/p50_ms"},
		{generated.UiProvidersProcIngestP95Ms, "ingest/p95_ms"},
		{generated.UiProvidersProcIngestBackpressure, "ingest/backpressure"},
	} {
		if !c.on {
			continue
		}
		text, err := ns.ReadAll(walk(t, f.root, strings.Split(c.path, "/")...))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, nstest.Content(c.path+".cbor", string(procfs.TextCBOR(text, generated.UiProvidersCborMaxBytes))),
			nstest.Cap(c.path+".cbor", generated.UiProvidersCborMaxBytes))
	}
	if len(cases) == 0 {
		t.Skip("this profile enables no ui_providers text variant")
	}
	if generated.UiProvidersProc9pShortWrites {
		cases = append(cases, nstest.Content("9p/short_writes.cbor", string(detCBOR(t, []map[string]any{
			{"": []string{"short_writes"}, "total": uint64(2), "retries": uint64(0)}}))))
	}
	nstest.TestProvider(t, p, cases...)
}
