package console

import (
	"strings"
	"testing"
)

func TestParseAck(t *testing.T) {
	// §4 client parsing rule, one row per case.
	rows := []struct {
		name, in string
		want     Ack
		ok       bool
	}{
		{"ok no detail", "OK AUTH", Ack{OK: true, Label: "AUTH"}, true},
		{"ok auth with detail", "OK AUTH detail=welcome", Ack{OK: true, Label: "AUTH", Detail: "detail=welcome"}, true},
		{"ok with detail", "OK ATTACH role=queen", Ack{OK: true, Label: "ATTACH", Detail: "role=queen"}, true},
		{"err refusal", "ERR TAIL reason=policy detail=invalid-path path=/x", Ack{Label: "TAIL", Detail: "reason=policy detail=invalid-path path=/x"}, true},
		{"trimmed", "  OK PING reply=pong \r\n", Ack{OK: true, Label: "PING", Detail: "reply=pong"}, true},
		{"detail trimmed", "OK CAT  path=/a", Ack{OK: true, Label: "CAT", Detail: "path=/a"}, true},
		{"end", "END", Ack{}, false},
		{"payload", "hello world", Ack{}, false},
		{"lower ok is payload", "ok PING", Ack{}, false},
		{"status only", "OK", Ack{}, false},
		{"empty label", "ERR  PARSE", Ack{}, false},
		{"okay is payload", "OKAY PING", Ack{}, false},
		{"pong", "PONG", Ack{}, false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, ok := ParseAck(r.in)
			if ok != r.ok || got != r.want {
				t.Errorf("ParseAck(%q) = %+v, %v; want %+v, %v", r.in, got, ok, r.want, r.ok)
			}
		})
	}
}

func TestRefusalRendering(t *testing.T) {
	rows := []struct {
		name string
		ack  Ack
		want string
	}{
		// §5 namespace error mapping table.
		{"unsupported", Refusal("ECHO", ReasonPolicy, DetailUnsupported, "path", "/proc/boot", "error", "unsupported command: write"),
			"ERR ECHO reason=policy detail=unsupported path=/proc/boot error=unsupported command: write"},
		{"attach timeout", Refusal("CAT", ReasonBusy, DetailAttachTimeout, "path", "/x", "error", ErrorTextAttachTimeout),
			"ERR CAT reason=busy detail=attach-timeout path=/x error=attach handshake timed out"},
		{"invalid path", Refusal("LS", ReasonPolicy, DetailInvalidPath, "path", "/nope", "error", ErrorTextInvalidPath),
			"ERR LS reason=policy detail=invalid-path path=/nope error=invalid path"},
		{"permission", Refusal("ECHO", ReasonPolicy, DetailDenied, "path", "/queen/ctl", "error", ErrorTextEPERM),
			"ERR ECHO reason=policy detail=denied path=/queen/ctl error=EPERM"},
		{"buffer full", Refusal("ECHO", ReasonQuota, DetailBufferFull, "path", "/bus/a", "error", ErrorTextBufferFull),
			"ERR ECHO reason=quota detail=buffer-full path=/bus/a error=buffer full"},
		{"invalid payload", Refusal("SPAWN", ReasonPolicy, DetailInvalidPayload, "path", "/queen/ctl", "error", ErrorTextInvalidPayload),
			"ERR SPAWN reason=policy detail=invalid-payload path=/queen/ctl error=invalid payload"},
		// Ticket scope / quota denials.
		{"scope", Refusal("CAT", ReasonPolicy, "", "path", "/proc/x", "error", ErrorTextEPERM), "ERR CAT reason=policy path=/proc/x error=EPERM"},
		{"quota", Refusal("CAT", ReasonQuota, "", "path", "/proc/x", "error", ErrorTextELIMIT), "ERR CAT reason=quota path=/proc/x error=ELIMIT"},
		// §5 and §6 refusals.
		{"unauthenticated", Refusal("LOG", ReasonPolicy, DetailUnauthenticated), "ERR LOG reason=policy detail=unauthenticated"},
		{"root unreachable", Refusal("TAIL", ReasonCut, DetailRootUnreachable), "ERR TAIL reason=cut detail=root-unreachable"},
		{"tail invalid path", Refusal("TAIL", ReasonPolicy, DetailInvalidPath, "path", "/x"), "ERR TAIL reason=policy detail=invalid-path path=/x"},
		{"host-only test", Refusal("TEST", ReasonPolicy, DetailHostOnly), "ERR TEST reason=policy detail=host-only"},
		{"unavailable", Refusal("BOOTINFO", ReasonPolicy, DetailUnavailable), "ERR BOOTINFO reason=policy detail=unavailable"},
		{"invalid role", Refusal("ATTACH", ReasonPolicy, DetailInvalidRole), "ERR ATTACH reason=policy detail=invalid-role"},
		{"throttled", Refusal("ATTACH", ReasonQuota, DetailThrottled, "delay_ms", "500"), "ERR ATTACH reason=quota detail=throttled delay_ms=500"},
		{"rate limited", Refusal("ATTACH", ReasonQuota, DetailRateLimited, "delay_ms", "90000"), "ERR ATTACH reason=quota detail=rate-limited delay_ms=90000"},
		{"lifecycle denied", Refusal("ATTACH", ReasonPolicy, DetailLifecycleDenied, "state", "BOOTING"), "ERR ATTACH reason=policy detail=lifecycle-denied state=BOOTING"},
		{"denied", Refusal("ATTACH", ReasonPolicy, DetailDenied), "ERR ATTACH reason=policy detail=denied"},
		{"invalid claims policy", Refusal("ATTACH", ReasonPolicy, DetailInvalidClaims), "ERR ATTACH reason=policy detail=invalid-claims"},
		{"expired", Refusal("ATTACH", ReasonQuota, DetailExpired), "ERR ATTACH reason=quota detail=expired"},
		// §1, §2.
		{"auth invalid length", AuthRefusal(AuthInvalidLength), "ERR AUTH reason=invalid-length"},
		{"auth expected token", AuthRefusal(AuthExpectedToken), "ERR AUTH reason=expected-token"},
		{"auth invalid token", AuthRefusal(AuthInvalidToken), "ERR AUTH reason=invalid-token"},
		{"auth throttled", AuthBlocked(DetailThrottled, 250), "ERR AUTH reason=throttled delay_ms=250"},
		{"auth rate limited", AuthBlocked(DetailRateLimited, 90000), "ERR AUTH reason=rate-limited delay_ms=90000"},
		{"frame", FrameRefusal, "ERR FRAME reason=invalid-length"},
		{"auth ok", AuthOK, "OK AUTH"},
		// Successes from §5.
		{"attach ok", Success("ATTACH", "role", "queen"), "OK ATTACH role=queen"},
		{"ping ok", Success("PING", "reply", "pong"), "OK PING reply=pong"},
		{"echo ok", Success("ECHO", "path", "/bus/a", "bytes", "5"), "OK ECHO path=/bus/a bytes=5"},
		{"kill ok", Success("KILL", "id", "worker-1"), "OK KILL id=worker-1"},
		{"dangling key", Refusal("X", ReasonPolicy, "", "k"), "ERR X reason=policy k="},
		// Render keeps an ACK on one line.
		{"control chars", Success("ECHO", "path", "/a\nOK FAKE"), "OK ECHO path=/a?OK FAKE"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got := r.ack.Render(lim)
			if got != r.want {
				t.Errorf("Render() = %q; want %q", got, r.want)
			}
			back, ok := ParseAck(got)
			if !ok || back.Render(lim) != got {
				t.Errorf("ParseAck(%q) = %+v, %v; want it to round-trip", got, back, ok)
			}
		})
	}
}

func TestRenderTruncated(t *testing.T) {
	rows := []struct {
		name   string
		detail int // detail length; "OK ECHO " is 8 bytes
		want   string
	}{
		{"at limit", 248, "OK ECHO " + strings.Repeat("d", 248)},
		{"over limit", 249, "ERR PARSE reason=policy detail=ack-truncated"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			a := Ack{OK: true, Label: "ECHO", Detail: strings.Repeat("d", r.detail)}
			if got := a.Render(lim); got != r.want {
				t.Errorf("Render() = %q; want %q", got, r.want)
			}
		})
	}
}

func TestAckField(t *testing.T) {
	a, _ := ParseAck("OK CAT path=/log/queen.log data=hello world|bye")
	rows := []struct{ key, want string }{
		{"path", "/log/queen.log"},
		{"data", "hello world|bye"},
	}
	for _, r := range rows {
		t.Run(r.key, func(t *testing.T) {
			if got, ok := a.Field(r.key); !ok || got != r.want {
				t.Errorf("Field(%q) = %q, %v; want %q", r.key, got, ok, r.want)
			}
		})
	}
	if r := Refusal("X", ReasonQuota, "d").Reason(); r != "quota" {
		t.Errorf("Reason() = %q; want quota", r)
	}
}

func TestCheckAuth(t *testing.T) {
	const tok = "changeme"
	rows := []struct{ name, in, want string }{
		{"ok", "AUTH changeme", ""},
		{"wrong token same length", "AUTH changemf", AuthInvalidToken},
		{"short", "AUTH change", AuthInvalidToken},
		{"long", "AUTH changeme2", AuthInvalidToken},
		{"one byte", "AUTH x", AuthInvalidToken},
		{"empty", "", AuthExpectedToken},
		{"prefix only", "AUTH ", AuthExpectedToken},
		{"no prefix", "HELO changeme", AuthExpectedToken},
		{"lower prefix", "auth changeme", AuthExpectedToken},
		{"no space", "AUTHXchangeme", AuthExpectedToken},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if got := CheckAuth(r.in, tok); got != r.want {
				t.Errorf("CheckAuth(%q) = %q; want %q", r.in, got, r.want)
			}
		})
	}
	if got := CheckAuth("AUTH ", ""); got != AuthExpectedToken {
		t.Errorf("CheckAuth(empty token) = %q; want %q", got, AuthExpectedToken)
	}
	if got := AuthLine(tok); got != "AUTH changeme" {
		t.Errorf("AuthLine() = %q", got)
	}
}
