package swarmui

import (
	"errors"
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

// openFids are one session's open /proc/ui fids; mu serialises polls of
// the session (two tabs share them).
type openFids struct {
	mu    sync.Mutex
	gen   p9.File
	pages []p9.File
	buf   []byte
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

// pollFids is poll over kept fids; any error drops them all, so the next
// poll walks afresh.
func (o *openFids) poll(w walker) (Queen, []rawWorker, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	q, raws, err := o.pollLocked(w)
	if err != nil {
		o.closeAll()
	}
	return q, raws, err
}

func (o *openFids) pollLocked(w walker) (Queen, []rawWorker, error) {
	var err error
	if o.gen == nil {
		if o.gen, err = openRead(w, PathUIGen); err != nil {
			return Queen{}, nil, err
		}
	}
	b, err := o.read(o.gen)
	if err != nil {
		return Queen{}, nil, err
	}
	_, pages, q, err := parseUIGen(b)
	if err != nil {
		return Queen{}, nil, err
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
			return Queen{}, nil, err
		}
		raws = append(raws, parseUIPage(pb)...)
	}
	return q, raws, nil
}
