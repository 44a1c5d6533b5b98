package gate

import (
	"testing"

	nscore "github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/queen"
)

// checkTree runs the provider conformance suite (nstest) on the whole
// namespace: the Mux at the root is itself a provider.
func checkTree(t *testing.T, root nscore.Provider) {
	t.Helper()
	nstest.TestProvider(t, root,
		nstest.Open("queen/telemetry"), // the first ctl write creates a device (namespace.md §3)
		nstest.IgnoresOffset("queen/ctl"),
		nstest.IgnoresOffset("queen/lifecycle/ctl"),
	)
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opt  options
	}{
		{"manifest", options{}},
		{"sharding off", options{ns: func(c *Config) { c.ShardEnabled = false }}},
		{"shard bits 2 without alias", options{ns: func(c *Config) { c.ShardBits, c.LegacyAlias = 2, false }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opt)
			checkTree(t, f.ns.root)
			f.spawn(3, "100")
			f.tick(4)
			f.mustWrite(f.queen(), "/log/queen.log", "user line")
			checkTree(t, f.ns.root)
		})
	}
}

func TestConformanceWrappedRing(t *testing.T) {
	f := newFixture(t, options{queen: func(c *queen.Config) { c.RingBytesPerWorker = 64 }})
	f.spawn(1, "100")
	f.tick(10)
	checkTree(t, f.ns.root)
}

// A file made of the embeddable defaults is a Node.
type roFile struct {
	ReadOnly
	NotDir
}

func (roFile) Stat() (Stat, error)                     { return Stat{Kind: KindReadOnly}, nil }
func (roFile) ReadAt(p []byte, off int64) (int, error) { return readBytes(nil, p, off) }

var (
	_ Node = roFile{}
	_ Node = Static{}
	_ Node = Dynamic{}
	_ Node = Content{}
)

func TestEmbeddedDefaults(t *testing.T) {
	nstest.TestProvider(t, nscore.Plain(Static{DirOps: DirOps{Path: "/d"}, Entries: []Entry{
		{Name: "f", Node: roFile{ReadOnly: ReadOnly{Path: "/d/f"}}},
		{Name: "c", Node: Content{ReadOnly: ReadOnly{Path: "/d/c"}, Render: func() []byte { return []byte("hello\n") }}},
		{Name: "e", Node: Dynamic{DirOps: DirOps{Path: "/d/e"}, Names: func() []string { return nil }, Child: func(string) (Node, bool) { return nil, false }}},
	}}))
}
