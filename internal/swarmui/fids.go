package swarmui

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/hugelgupf/p9/p9"

	"github.com/cohesix/cohesix/generated"
)

// walker is an upstream that hands out fids (nineclient.Client): the
// projection then keeps /proc/ui/gen and each page open between polls, so
// a poll is one Tread per file instead of a walk, open, read and clunk.
type walker interface {
	Walk(path string) (p9.File, error)
}

// openFids are one session's open /proc/ui fids and its change feed; mu
// serialises polls of the session (two tabs share them).
type openFids struct {
	mu    sync.Mutex
	gen   p9.File
	pages []p9.File
	buf   []byte
	feed  feed // feed.go
}

func (o *openFids) closeAll() {
	if o.gen != nil {
		o.gen.Close()
		o.gen = nil
	}
	for _, f := range o.pages {
		f.Close()
	}
	o.pages = nil
}

func openRead(w walker, path string) (p9.File, error) {
	f, err := w.Walk(path)
	if err != nil {
		return nil, err
	}
	if _, _, err := f.Open(p9.ReadOnly); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// read reads f whole from offset 0 in one Tread (a /proc/ui file is at
// most page_bytes); a longer file is an error, not a short read.
func (o *openFids) read(f p9.File) ([]byte, error) {
	if o.buf == nil {
		o.buf = make([]byte, generated.UiProvidersProcUiPageBytes+1)
	}
	n, err := f.ReadAt(o.buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n > generated.UiProvidersProcUiPageBytes {
		return nil, errors.New("a /proc/ui file is over its page_bytes")
	}
	return o.buf[:n], nil
}

// poll reads the hive's workers for a queen-side session: the change
// feed when it can answer, else whole — over kept fids when the upstream
// hands out fids (Secure9P), else by path (the gateway). A failed whole
// read drops the fids, so the next poll walks afresh.
func (o *openFids) poll(h Hive) (Queen, []rawWorker, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if q, raws, ok := o.feed.next(h); ok {
		return q, raws, nil
	}
	var gen uint64
	var q Queen
	var raws []rawWorker
	var err error
	if w, ok := h.(walker); ok {
		gen, q, raws, err = o.pollLocked(w)
	} else {
		gen, q, raws, err = pollPaths(h)
	}
	if err != nil {
		o.closeAll()
		o.feed.have = false
		return Queen{}, nil, err
	}
	o.feed.reset(gen, raws)
	return q, raws, nil
}

// pollPaths is a whole read by path: gen, then each page.
func pollPaths(h Hive) (uint64, Queen, []rawWorker, error) {
	b, err := h.Read(PathUIGen, generated.UiProvidersProcUiPageBytes)
	if err != nil {
		return 0, Queen{}, nil, fmt.Errorf("reading %s: %w", PathUIGen, err)
	}
	gen, pages, q, err := parseUIGen(b)
	if err != nil {
		return 0, Queen{}, nil, err
	}
	var raws []rawWorker
	for i := range pages {
		pb, err := h.Read(PathUIPages+strconv.Itoa(i), generated.UiProvidersProcUiPageBytes)
		if err != nil {
			break // the page went away with removed workers; the next poll sees the rest
		}
		raws = append(raws, parseUIPage(pb)...)
	}
	return gen, q, raws, nil
}

// pollLocked is a whole read over kept fids.
func (o *openFids) pollLocked(w walker) (uint64, Queen, []rawWorker, error) {
	var err error
	if o.gen == nil {
		if o.gen, err = openRead(w, PathUIGen); err != nil {
			return 0, Queen{}, nil, err
		}
	}
	b, err := o.read(o.gen)
	if err != nil {
		return 0, Queen{}, nil, err
	}
	gen, pages, q, err := parseUIGen(b)
	if err != nil {
		return 0, Queen{}, nil, err
	}
	for len(o.pages) > pages { // workers left: a page past the end reads empty, close it
		o.pages[len(o.pages)-1].Close()
		o.pages = o.pages[:len(o.pages)-1]
	}
	for len(o.pages) < pages {
		f, err := openRead(w, PathUIPages+strconv.Itoa(len(o.pages)))
		if err != nil {
			break // the page went away with removed workers; the next poll sees the rest
		}
		o.pages = append(o.pages, f)
	}
	var raws []rawWorker
	for _, f := range o.pages {
		pb, err := o.read(f)
		if err != nil {
			return 0, Queen{}, nil, err
		}
		raws = append(raws, parseUIPage(pb)...)
	}
	return gen, q, raws, nil
}
