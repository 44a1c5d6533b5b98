package govfs

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/queen"
)

// Past ui_providers.cbor_max_bytes, req's text keeps its first whole
// lines and its CBOR the first half, quarter... of the actions, and both
// keep the whole counts.
func TestPreflightBounded(t *testing.T) {
	var actions []queen.Action
	for i := range 1000 {
		actions = append(actions, queen.Action{ID: fmt.Sprintf("a%d", i), Target: "/host/" + strings.Repeat("x", 100), Decision: "approve", State: "queued"})
	}
	r := request(actions)
	text := r.text()
	if len(text) > generated.UiProvidersCborMaxBytes || !bytes.HasPrefix(text, []byte("req total=1000 queued=1000 consumed=0\n")) || !bytes.HasSuffix(text, []byte("state=queued\n")) {
		t.Errorf("text: %d bytes, starting %.40q, ending %q; want at most %d, the counts first, whole lines", len(text), text, text[max(0, len(text)-13):], generated.UiProvidersCborMaxBytes)
	}
	b := r.cbor()
	var got preflightReq
	if err := cbor.Unmarshal(b, &got); err != nil || len(b) > generated.UiProvidersCborMaxBytes {
		t.Fatalf("cbor: %d bytes, %v; want at most %d", len(b), err, generated.UiProvidersCborMaxBytes)
	}
	if got.Total != 1000 || got.Queued != 1000 || len(got.Actions) == 0 || len(got.Actions) >= 1000 || got.Actions[0].ID != "a0" {
		t.Errorf("cbor: total %d queued %d, %d actions from %+v; want 1000, 1000 and a first part of them", got.Total, got.Queued, len(got.Actions), got.Actions[:min(1, len(got.Actions))])
	}
}
