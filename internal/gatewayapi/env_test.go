package gatewayapi

import "testing"

// The request-auth token resolves flag first, then each variable in the
// documented order: every host tool finds the same token.
func TestResolveTokenPrecedence(t *testing.T) {
	for _, k := range TokenEnv {
		t.Setenv(k, "")
	}
	if v, src := Resolve("", TokenEnv); v != "" || src != "" {
		t.Fatalf("nothing set: got %q from %q", v, src)
	}
	// Set from last to first: each newly set variable must win.
	for i := len(TokenEnv) - 1; i >= 0; i-- {
		t.Setenv(TokenEnv[i], "tok-"+TokenEnv[i])
		if v, src := Resolve("", TokenEnv); src != TokenEnv[i] || v != "tok-"+TokenEnv[i] {
			t.Fatalf("with %s set: got %q from %q", TokenEnv[i], v, src)
		}
	}
	if v, src := Resolve("from-flag", TokenEnv); v != "from-flag" || src != "flag" {
		t.Fatalf("flag: got %q from %q", v, src)
	}
}
