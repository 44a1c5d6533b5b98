package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
)

// FuzzParseReadQuery: any query either parses into a path the console
// would accept and caps within the manifest, or is refused as bad input;
// it never panics.
func FuzzParseReadQuery(f *testing.F) {
	for _, s := range []string{
		"path=/proc/boot", "path=/proc/boot&max_bytes=10", "path=/log/queen.log&lines=3&follow=true",
		"path=/proc/../x", "path=%2Fproc%00", "path=rel", "max_bytes=99999999999999999999&path=/a",
		"path=/a&path=/b", "path=/a&offset=-1", "path=/a&lines=0", "path=/a&follow=maybe", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r, err := parseReadQuery(q)
		if err != nil {
			if _, ok := err.(*badInput); !ok {
				t.Fatalf("error %T is not bad input", err)
			}
			return
		}
		if checkPath(r.path) != nil || r.maxBytes > generated.GatewayMaxReadBytes || r.lines > generated.GatewayTailMaxLines || r.offset < 0 {
			t.Fatalf("accepted %+v", r)
		}
		if strings.Contains(r.path, "/../") || strings.HasSuffix(r.path, "/..") {
			t.Fatalf("accepted a .. path %q", r.path)
		}
	})
}

// FuzzParseEcho: an echo body is one object with a checked path and a
// line the console could carry, or bad input.
func FuzzParseEcho(f *testing.F) {
	for _, s := range []string{
		`{"path":"/log/queen.log","line":"hello"}`, `{"path":"/log/queen.log","line":"a\nb"}`,
		`{"path":"/x","line":"y","extra":1}`, `{"path":"/x","line":"y"} {}`, `{"path":"/x/../y","line":""}`,
		`[]`, `{`, `{"path":"/queen/ctl","line":"{\"spawn\":\"heartbeat\"}"}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseEcho(b)
		if err != nil {
			return
		}
		if checkPath(req.Path) != nil || len(req.Line) > generated.ConsoleEchoMax || strings.ContainsAny(req.Line, "\n\r\x00") {
			t.Fatalf("accepted %+v", req)
		}
	})
}

// FuzzParseEventID: Last-Event-ID is a non-negative offset or bad input.
func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"", "0", "1055", "-1", "x", "99999999999999999999", " 12 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok, err := parseEventID(s)
		if err == nil && ok && n < 0 {
			t.Fatalf("accepted %q as %d", s, n)
		}
	})
}

// FuzzPresentedToken: the token read from Authorization or
// X-Cohesix-Auth is what followed "Bearer " or the header itself, never
// a piece of another scheme, and only the exact token passes.
func FuzzPresentedToken(f *testing.F) {
	for _, s := range [][2]string{{"Bearer tok", ""}, {"bearer  tok ", ""}, {"Basic tok", ""}, {"", "tok"}, {"Bearer", "tok"}, {"Bearer tok", "other"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authz, xauth string) {
		r, _ := http.NewRequest("GET", "/", nil)
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if xauth != "" {
			r.Header["X-Cohesix-Auth"] = []string{xauth}
		}
		got := presentedToken(r)
		if authz != "" && got != "" && !strings.Contains(authz, got) {
			t.Fatalf("token %q not from Authorization %q", got, authz)
		}
		if tokenOK("tok", got) && got != "tok" {
			t.Fatalf("%q passed as tok", got)
		}
	})
}
