package main

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// bar draws a progress bar on stderr when it is a terminal; otherwise its
// methods do nothing.
type bar struct {
	e     *env
	desc  string
	b     *progressbar.ProgressBar
	total int64
}

func newBar(e *env, desc string) *bar { return &bar{e: e, desc: desc} }

func (b *bar) update(done, total int64) {
	if !b.e.tty {
		return
	}
	if b.b == nil || total != b.total {
		b.total = total
		b.b = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.e.stderr),
			progressbar.OptionSetDescription(b.desc),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	b.b.Set64(done)
}

func (b *bar) finish() {
	if b.b != nil {
		b.b.Finish()
	}
}
