package swarmui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
)

// PathUISince is the /proc/ui change feed: since/<gen> lists the workers
// changed after snapshot gen and those that left (DECISIONS P72).
const PathUISince = "/proc/ui/since/"

// feedRest is how many polls the server reads whole after the feed
// answered full=yes (more than a page changed: a busy hive), before it
// asks the feed again; a busy hive then costs one extra read a second.
const feedRest = 4 // limit-literal-ok: polls, with push_ms 200 one second in all

// sinceHead is the first line of a since/<gen> answer.
type sinceHead struct {
	gen, since       uint64
	q                Queen
	full             bool
	changed, removed int
}

// parseUISince parses a since/<gen> answer. The counts in the header must
// match the lines that follow: a cut or malformed answer is an error and
// the server reads whole instead.
func parseUISince(b []byte) (sinceHead, []rawWorker, []string, error) {
	var h sinceHead
	first, rest, _ := strings.Cut(string(b), "\n")
	gen, _, q, err := parseUIGen([]byte(first))
	if err != nil {
		return h, nil, nil, err
	}
	f := fields(first)
	h.gen, h.q, h.full = gen, q, f["full"] == "yes"
	var e1, e2, e3 error
	h.since, e1 = strconv.ParseUint(f["since"], 10, 64)
	h.changed, e2 = strconv.Atoi(f["changed"])
	h.removed, e3 = strconv.Atoi(f["removed"])
	if err := errors.Join(e1, e2, e3); err != nil || (f["full"] != "yes" && f["full"] != "no") || h.changed < 0 || h.removed < 0 {
		return h, nil, nil, fmt.Errorf("%s: a malformed header %q", PathUISince, clip(first))
	}
	var changed []rawWorker
	var removed []string
	for ln := range strings.SplitSeq(rest, "\n") {
		if ln == "" {
			continue
		}
		if id, what, _ := strings.Cut(ln, " "); what == "removed" && id != "" {
			removed = append(removed, id)
			continue
		}
		w := parseUIPage([]byte(ln))
		if len(w) != 1 {
			return h, nil, nil, fmt.Errorf("%s: a malformed line %q", PathUISince, clip(ln))
		}
		changed = append(changed, w[0])
	}
	if len(changed) != h.changed || len(removed) != h.removed {
		return h, nil, nil, fmt.Errorf("%s: %d changed and %d removed lines, the header says %d and %d", PathUISince, len(changed), len(removed), h.changed, h.removed)
	}
	return h, changed, removed, nil
}

// feed is a session's copy of the hive's workers at snapshot gen, kept
// current through the change feed so a quiet hive costs one read a poll.
type feed struct {
	have  bool // order and byID are the workers of gen
	off   bool // the hive has no feed (an older hive): read whole always
	gen   uint64
	order []string
	byID  map[string]rawWorker
	rest  int // polls left to read whole before asking the feed again
}

// reset takes a whole read of the hive: raws, read from gen on (pages
// read after gen may be newer; the feed's later changes are applied over
// them, which is idempotent).
func (f *feed) reset(gen uint64, raws []rawWorker) {
	f.have, f.gen, f.order, f.byID = true, gen, f.order[:0], make(map[string]rawWorker, len(raws))
	for _, r := range raws {
		if _, dup := f.byID[r.id]; !dup {
			f.order = append(f.order, r.id)
		}
		f.byID[r.id] = r
	}
}

// apply folds one feed answer in: removals first (a worker may leave and
// come back under its id), then the changed workers in place or, when
// new, at the end (spawn order). It returns the workers now.
func (f *feed) apply(gen uint64, changed []rawWorker, removed []string) []rawWorker {
	for _, id := range removed {
		delete(f.byID, id)
	}
	kept := f.order[:0]
	for _, id := range f.order {
		if _, ok := f.byID[id]; ok {
			kept = append(kept, id)
		}
	}
	f.order = kept
	for _, r := range changed {
		if _, ok := f.byID[r.id]; !ok {
			f.order = append(f.order, r.id)
		}
		f.byID[r.id] = r
	}
	f.gen = gen
	out := make([]rawWorker, 0, len(f.order))
	for _, id := range f.order {
		out = append(out, f.byID[id])
	}
	return out
}

// next asks the feed for the changes since f.gen. ok is false when the
// caller must read whole: no copy yet, resting after a busy answer, a
// hive without the feed, a full=yes or an answer that does not parse.
func (f *feed) next(h Hive) (Queen, []rawWorker, bool) {
	switch {
	case f.off || !f.have:
		return Queen{}, nil, false
	case f.rest > 0:
		f.rest--
		return Queen{}, nil, false
	}
	b, err := h.Read(PathUISince+strconv.FormatUint(f.gen, 10), generated.UiProvidersProcUiPageBytes)
	if errors.Is(err, linux.ENOENT) {
		f.off = true
		return Queen{}, nil, false
	}
	if err != nil {
		f.have = false
		return Queen{}, nil, false
	}
	hd, changed, removed, err := parseUISince(b)
	if err != nil || hd.full || hd.since != f.gen {
		f.rest = feedRest
		return Queen{}, nil, false
	}
	return hd.q, f.apply(hd.gen, changed, removed), true
}
