package swarmui

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/nineclient"
)

// feedHive serves fixed /proc/ui files by path and counts the reads.
type feedHive struct {
	mu    sync.Mutex
	files map[string]string
	reads map[string]int
}

func (h *feedHive) Read(path string, _ int) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads[path]++
	s, ok := h.files[path]
	if !ok {
		return nil, linux.ENOENT
	}
	return []byte(s), nil
}
func (h *feedHive) ReadFrom(p string, _ int64, n int) ([]byte, error) { return h.Read(p, n) }
func (h *feedHive) List(string) ([]string, error)                     { return nil, linux.ENOTDIR }
func (h *feedHive) Stat(string) (nineclient.Stat, error)              { return nineclient.Stat{}, nil }
func (h *feedHive) Close() error                                      { return nil }

func uiLine(id string, ticks int) string {
	return id + " role=worker-heartbeat state=running ticks=" + strconv.Itoa(ticks) + " ops=0 budget_ticks=10 budget_ops=- telemetry_end=" + strconv.Itoa(ticks*10) + "\n"
}

func ids(raws []rawWorker) string {
	var s []string
	for _, r := range raws {
		s = append(s, r.id+":"+strconv.Itoa(int(r.ticks)))
	}
	return strings.Join(s, ",")
}

// TestFeedPoll: the first poll reads whole (gen and the pages); the next
// reads only since/<gen> and folds its removals and changes in spawn
// order; a full=yes answer reads whole and rests the feed for feedRest
// polls; a hive without the feed is read whole from then on.
func TestFeedPoll(t *testing.T) {
	head := "now_ms=1 workers=2 pages=1 lifecycle=ONLINE reachable=yes"
	h := &feedHive{reads: map[string]int{}, files: map[string]string{
		PathUIGen:         "gen=7 " + head + "\n",
		PathUIPages + "0": uiLine("worker-1", 1) + uiLine("worker-2", 1),
		PathUISince + "7": "gen=9 " + head + " since=7 full=no changed=2 removed=1\n" + uiLine("worker-3", 0) + uiLine("worker-2", 2) + "worker-1 removed\n",
		PathUISince + "9": "gen=12 " + head + " since=9 full=yes changed=0 removed=0\n",
	}}
	var o openFids
	poll := func() string {
		t.Helper()
		_, raws, err := o.poll(h)
		if err != nil {
			t.Fatal(err)
		}
		return ids(raws)
	}
	if got := poll(); got != "worker-1:1,worker-2:1" || h.reads[PathUIPages+"0"] != 1 {
		t.Fatalf("first poll = %s (page reads %d)", got, h.reads[PathUIPages+"0"])
	}
	if got := poll(); got != "worker-2:2,worker-3:0" || h.reads[PathUIPages+"0"] != 1 || h.reads[PathUISince+"7"] != 1 {
		t.Fatalf("feed poll = %s, reads %v", got, h.reads)
	}
	// since/9 is full=yes: a whole read (gen 7 again here), then rest.
	if got := poll(); got != "worker-1:1,worker-2:1" || h.reads[PathUIPages+"0"] != 2 {
		t.Fatalf("after full=yes = %s, reads %v", got, h.reads)
	}
	for range feedRest {
		poll()
	}
	if h.reads[PathUISince+"7"] != 1 || h.reads[PathUIPages+"0"] != 2+feedRest {
		t.Fatalf("resting: reads %v", h.reads)
	}
	poll()
	if h.reads[PathUISince+"7"] != 2 {
		t.Fatalf("the feed was not asked again after resting: %v", h.reads)
	}
	// An older hive: since/<gen> does not exist; never asked again.
	delete(h.files, PathUISince+"7")
	o = openFids{}
	poll()
	poll()
	poll()
	if h.reads[PathUISince+"7"] != 3 {
		t.Fatalf("a hive without the feed was asked %d times", h.reads[PathUISince+"7"]-2)
	}
}

// TestParseUISince: counts that do not match the lines are refused.
func TestParseUISince(t *testing.T) {
	head := "gen=9 now_ms=1 workers=2 pages=1 lifecycle=ONLINE reachable=yes since=7 full=no "
	for _, bad := range []string{
		head + "changed=1 removed=0\n",
		head + "changed=0 removed=0\n" + uiLine("worker-3", 0),
		head + "changed=0 removed=1\n",
		head + "changed=x removed=0\n",
		"gen=9 pages=1 since=7 full=maybe changed=0 removed=0\n",
		head + "changed=1 removed=0\nworker-3 role=x\n",
	} {
		if _, _, _, err := parseUISince([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	h, ch, rm, err := parseUISince([]byte(head + "changed=1 removed=1\n" + uiLine("worker-3", 4) + "worker-1 removed\n"))
	if err != nil || h.gen != 9 || h.since != 7 || h.full || len(ch) != 1 || ch[0].ticks != 4 || len(rm) != 1 || rm[0] != "worker-1" {
		t.Fatalf("parse = %+v %+v %q %v", h, ch, rm, err)
	}
}
