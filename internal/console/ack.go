package console

import "strings"

// Ack is one acknowledgement line: "OK <LABEL>[ <detail>]" or
// "ERR <LABEL>[ <detail>]".
type Ack struct {
	OK     bool
	Label  string
	Detail string
}

// Success returns "OK <label>" with the given key=value pairs as detail.
func Success(label string, kv ...string) Ack {
	return Ack{OK: true, Label: label, Detail: pairs(kv)}
}

// Refusal returns "ERR <label> reason=<reason>[ detail=<detail>][ k=v...]".
// An empty detail is left out. kv holds alternating keys and values; a key
// without a value renders as "k=".
func Refusal(label, reason, detail string, kv ...string) Ack {
	var b strings.Builder
	b.WriteString("reason=")
	b.WriteString(reason)
	if detail != "" {
		b.WriteString(" detail=")
		b.WriteString(detail)
	}
	if p := pairs(kv); p != "" {
		b.WriteByte(' ')
		b.WriteString(p)
	}
	return Ack{Label: label, Detail: b.String()}
}

func pairs(kv []string) string {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		if i+1 < len(kv) {
			b.WriteString(kv[i+1])
		}
	}
	return b.String()
}

// Status returns "OK" or "ERR".
func (a Ack) Status() string {
	if a.OK {
		return "OK"
	}
	return "ERR"
}

// String renders a without the length rule; use [Ack.Render] on the wire.
func (a Ack) String() string {
	s := a.Status() + " " + a.Label
	if a.Detail != "" {
		s += " " + a.Detail
	}
	return s
}

// Truncated is the line sent instead of an ACK longer than [Limits.Ack].
var Truncated = Refusal(LabelParse, ReasonPolicy, DetailAckTruncated)

// Render returns the wire line for a. It is the only producer of OK/ERR
// lines: control characters in the label or detail become '?' so an ACK is
// always exactly one line, and a line longer than lim.Ack bytes is replaced
// by "ERR PARSE reason=policy detail=ack-truncated".
func (a Ack) Render(lim Limits) string {
	s := a.String()
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return '?'
			}
			return r
		}, s)
	}
	if len(s) > lim.Ack {
		return Truncated.String()
	}
	return s
}

// ParseAck parses an ACK line per §4: trim, split into at most three parts on
// single spaces; the first must be exactly OK or ERR, the second (the label)
// must be non-empty, the trimmed rest is the detail. ok is false for any
// other line ([End] or payload text).
func ParseAck(line string) (Ack, bool) {
	parts := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(parts) < 2 || parts[1] == "" {
		return Ack{}, false
	}
	var a Ack
	switch parts[0] {
	case "OK":
		a.OK = true
	case "ERR":
	default:
		return Ack{}, false
	}
	a.Label = parts[1]
	if len(parts) == 3 {
		a.Detail = strings.TrimSpace(parts[2])
	}
	return a, true
}

// Field returns the value of key=value in the detail: the text after "key="
// up to the next space, or to the end of the line for the last field (so
// data=<summary> keeps its spaces when it comes last).
func (a Ack) Field(key string) (string, bool) {
	d := a.Detail
	for d != "" {
		var tok string
		tok, d, _ = strings.Cut(d, " ")
		k, v, ok := strings.Cut(tok, "=")
		if !ok || k != key {
			continue
		}
		if key == "data" {
			return v + restWithSpace(d), true
		}
		return v, true
	}
	return "", false
}

func restWithSpace(d string) string {
	if d == "" {
		return ""
	}
	return " " + d
}

// Reason returns the reason=<r> of a refusal, or "".
func (a Ack) Reason() string { r, _ := a.Field("reason"); return r }
