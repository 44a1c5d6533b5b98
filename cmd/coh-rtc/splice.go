package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// markerRE finds a spliced region of a doc: the lines between
// `<!-- coh-rtc:NAME:start -->` and `<!-- coh-rtc:NAME:end -->`, which
// coh-rtc fills with docs/snippets/NAME.md. Docs include the generated
// tables this way, so prose and tables cannot drift apart.
var markerRE = regexp.MustCompile(`(?s)(<!-- coh-rtc:([a-z0-9_]+):start -->\n).*?(<!-- coh-rtc:([a-z0-9_]+):end -->)`)

// splice returns text with every marked region replaced by its snippet and
// whether text had any region. Regions naming no snippet are left alone.
func splice(text string, snippets map[string][]byte) (string, bool) {
	found := false
	out := markerRE.ReplaceAllStringFunc(text, func(m string) string {
		g := markerRE.FindStringSubmatch(m)
		if g[2] != g[4] {
			return m
		}
		snip, ok := snippets[g[2]+".md"]
		if !ok {
			return m
		}
		found = true
		return g[1] + strings.TrimRight(string(snip), "\n") + "\n" + g[3]
	})
	return out, found
}

// splicedDocs reads every Markdown file in dir under root and returns the
// ones with marked regions, spliced, keyed by their path relative to root.
func splicedDocs(root, dir string, snippets map[string][]byte) (map[string][]byte, error) {
	under := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	ents, err := os.ReadDir(under(dir))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(under(p))
		if err != nil {
			return nil, err
		}
		if s, ok := splice(string(b), snippets); ok {
			out[p] = []byte(s)
		}
	}
	return out, nil
}
