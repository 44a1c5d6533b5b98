package procfs

import (
	"testing"

	"github.com/cohesix/cohesix/internal/queen"
)

func TestRenderPeers(t *testing.T) {
	peers := []queen.PeerView{
		{Key: "peer=127.0.0.2", Failures: 3, Locked: true, UntilMs: 91_000},
		{Key: "peer=127.0.0.3", Failures: 1, UntilMs: 1_250},
		{Key: "subject=worker-1", Failures: 2, UntilMs: 999}, // passed since the snapshot
	}
	want := "peer=127.0.0.2 failures=3 state=locked delay_ms=90000\npeer=127.0.0.3 failures=1 state=throttled delay_ms=250\n"
	if got := RenderPeers(peers, 1_000); got != want {
		t.Errorf("RenderPeers = %q; want %q", got, want)
	}
	if got := RenderPeers(nil, 0); got != "" {
		t.Errorf("RenderPeers(none) = %q; want empty", got)
	}
}
