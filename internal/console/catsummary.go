package console

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// B64Prefix marks a content line carrying base64 of binary data.
const B64Prefix = "b64:"

// QueenLogPath is the log whose cat summary prefers user lines.
const QueenLogPath = "/log/queen.log"

// CatSummary returns the data= digest of a cat response (§5 "cat summary
// rules") for content lines (oldest first):
//
//   - Under /updates/ or /models/, a first line starting with "b64:" is the
//     summary.
//   - Otherwise lines are taken newest-first while they fit, skipping lines
//     longer than lim.CatSummaryLine bytes, then put back oldest→newest and
//     joined with "|". For /log/queen.log the first pass skips system lines
//     (those starting with "["); only if it selects nothing does a second pass
//     consider them too.
//   - The result is cut (at a UTF-8 boundary) so "path=<p> data=<summary>"
//     fits in lim.CatSummary bytes. If no whole line fits, the newest
//     eligible line is cut to fit.
func CatSummary(path string, lines []string, lim Limits) string {
	budget := lim.CatSummary - len("path=") - len(path) - len(" data=")
	if budget <= 0 {
		return ""
	}
	if (strings.HasPrefix(path, "/updates/") || strings.HasPrefix(path, "/models/")) &&
		len(lines) > 0 && strings.HasPrefix(lines[0], B64Prefix) {
		return clip(lines[0], budget)
	}
	sel := selectLines(lines, lim.CatSummaryLine, budget, path == QueenLogPath)
	if sel == nil && path == QueenLogPath {
		sel = selectLines(lines, lim.CatSummaryLine, budget, false)
	}
	if sel == nil {
		for i := len(lines) - 1; i >= 0; i-- {
			if len(lines[i]) <= lim.CatSummaryLine {
				return clip(lines[i], budget)
			}
		}
		return ""
	}
	for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
		sel[i], sel[j] = sel[j], sel[i]
	}
	return strings.Join(sel, "|")
}

// selectLines picks lines newest-first while the joined length fits budget.
func selectLines(lines []string, maxLine, budget int, skipSystem bool) []string {
	var sel []string
	used := 0
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if len(l) > maxLine || (skipSystem && strings.HasPrefix(l, "[")) {
			continue
		}
		need := len(l)
		if sel != nil {
			need++ // the "|" separator
		}
		if used+need > budget {
			break
		}
		sel = append(sel, l)
		used += need
	}
	return sel
}

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// B64Lines encodes data as standard base64 content lines "b64:<text>", each
// text at most max bytes (rounded down to a multiple of 4, at least 4).
// Empty data gives the single line "b64:".
func B64Lines(data []byte, max int) []string {
	enc := base64.StdEncoding.EncodeToString(data)
	chunk := max - max%4
	if chunk < 4 {
		chunk = 4
	}
	if len(enc) <= chunk {
		return []string{B64Prefix + enc}
	}
	out := make([]string, 0, (len(enc)+chunk-1)/chunk)
	for len(enc) > 0 {
		n := min(chunk, len(enc))
		out = append(out, B64Prefix+enc[:n])
		enc = enc[n:]
	}
	return out
}

// SplitLines splits content into its lines, without the final newline;
// empty content has no lines.
func SplitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ContentLines is how cat shows content (spec console §5): text as its
// lines; binary content (invalid UTF-8, or a control byte other than tab,
// newline or carriage return) as B64Lines of at most lim.B64Line
// characters, so a reply line never carries raw bytes.
func ContentLines(b []byte, lim Limits) []string {
	if !isText(b) {
		return B64Lines(b, lim.B64Line)
	}
	return SplitLines(b)
}

func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}
