package ticket

import "strings"

// RateWindowMs is the fixed rate-limit window (spec §5).
const RateWindowMs = 1000

// components splits a path into its components: the leading '/' and
// empty components are dropped. ok is false when a component is "..".
// "" and "/" give no components: the root.
func components(p string) (comps []string, ok bool) {
	for c := range strings.SplitSeq(p, "/") {
		switch c {
		case "":
			continue
		case "..":
			return nil, false
		}
		comps = append(comps, c)
	}
	return comps, true
}

// hasPrefix reports whether pre is a component-wise prefix of s.
func hasPrefix(s, pre []string) bool {
	if len(pre) > len(s) {
		return false
	}
	for i := range pre {
		if s[i] != pre[i] {
			return false
		}
	}
	return true
}

// MatchScope returns the scope that governs a request for path with verb
// v (spec §5). A scope matches when its verb allows v and its path
// components are a prefix of the request's; with listing set, a request
// path that is an ancestor of the scope matches too, so the holder can
// list down to it. A scope path of "" or "/" is the root and matches
// everything. Among matches the one with the most components wins; on a
// tie the earlier scope wins. Scopes and request paths with a ".."
// component never match.
func MatchScope(scopes []Scope, path string, v Verb, listing bool) (Scope, bool) {
	req, ok := components(path)
	if !ok {
		return Scope{}, false
	}
	best, bestLen := -1, -1
	for i, s := range scopes {
		if !s.Verb.Allows(v) {
			continue
		}
		sc, ok := components(s.Path)
		if !ok {
			continue
		}
		if !hasPrefix(req, sc) && !(listing && hasPrefix(sc, req)) {
			continue
		}
		if len(sc) > bestLen {
			best, bestLen = i, len(sc)
		}
	}
	if best < 0 {
		return Scope{}, false
	}
	return scopes[best], true
}

// RateWindow counts requests in a fixed window for one scope. The window
// opens at the first request and lasts windowMs; a clock that moves
// backwards opens a new window. The zero value is ready to use. It is not
// safe for concurrent use: the enforcement state that holds it takes the
// lock.
type RateWindow struct {
	startMs uint64
	count   uint32
	open    bool
}

// Allow reports whether a request at nowMs fits ratePerS requests per
// window, and counts it if so. ratePerS 0 is unlimited. windowMs 0 means
// RateWindowMs.
func (w *RateWindow) Allow(nowMs uint64, ratePerS uint32, windowMs uint64) bool {
	if ratePerS == 0 {
		return true
	}
	if windowMs == 0 {
		windowMs = RateWindowMs
	}
	if !w.open || nowMs < w.startMs || nowMs-w.startMs >= windowMs {
		w.startMs, w.count, w.open = nowMs, 0, true
	}
	if w.count >= ratePerS {
		return false
	}
	w.count++
	return true
}
