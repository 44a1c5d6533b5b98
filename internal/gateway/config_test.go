package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// The gateway refuses to start where it would be exposed or open: a
// non-loopback bind without the risk flag, half a TLS pair, and outside
// the dev profile without a request-auth token or its own ticket.
func TestConfigCheck(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // "" = accepted; else a substring of the refusal
	}{
		{"dev default", Config{}, ""},
		{"loopback v6", Config{Bind: "[::1]:8080"}, ""},
		{"localhost", Config{Bind: "localhost:8080"}, ""},
		{"non-loopback refused", Config{Bind: "0.0.0.0:8080"}, "--allow-non-loopback"},
		{"lan address refused", Config{Bind: "192.168.1.10:8080"}, "not a loopback address"},
		{"non-loopback with risk flag", Config{Bind: "0.0.0.0:8080", AllowNonLoopback: true}, ""},
		{"bad bind", Config{Bind: "8080"}, "want host:port"},
		{"half a TLS pair", Config{TLSCert: "c.pem"}, "go together"},
		{"production without token", Config{Profile: "production", Ticket: "t"}, "no request-auth token"},
		{"production without ticket", Config{Profile: "production", Token: "tok"}, "no gateway ticket"},
		{"production with both", Config{Profile: "production", Token: "tok", Ticket: "t"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Check()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted; want a refusal containing %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("refusal %q does not say %q", err, c.want)
			}
		})
	}
	// New applies the same check: no server is built.
	if _, err := New(Config{Profile: "production"}); err == nil {
		t.Fatal("New built a production gateway without a token")
	}
}

// The request-auth token compares whole: a prefix, a longer string, an
// empty token or another scheme does not pass.
func TestTokenOK(t *testing.T) {
	for _, c := range []struct {
		got string
		ok  bool
	}{{"s3cret-token", true}, {"s3cret", false}, {"s3cret-token-x", false}, {"", false}, {"S3CRET-TOKEN", false}} {
		if tokenOK("s3cret-token", c.got) != c.ok {
			t.Errorf("tokenOK(%q) = %t", c.got, !c.ok)
		}
	}
	if !tokenOK("", "") {
		t.Error("no token configured (dev) must admit")
	}
}

// With --require-ticket a write needs X-Cohesix-Ticket besides the token:
// 401 without it, before anything is read or sent.
func TestRequireTicket(t *testing.T) {
	s, err := New(Config{Hive9P: "127.0.0.1:1", Token: "tok", RequireTicket: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req := httptest.NewRequest("POST", gatewayapi.PathEcho, strings.NewReader(`{"path":"/log/queen.log","line":"x"}`))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "X-Cohesix-Ticket") {
		t.Fatalf("write without a ticket: %d %s", w.Code, w.Body)
	}
}
