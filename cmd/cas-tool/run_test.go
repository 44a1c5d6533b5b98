package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func runT(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPackVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(filepath.Join(in, "sub"), 0o755)
	os.WriteFile(filepath.Join(in, "a"), []byte("alpha"), 0o644)
	os.WriteFile(filepath.Join(in, "sub", "b"), bytes.Repeat([]byte("b"), 999), 0o644)
	key := filepath.Join(dir, "k")
	if code, out, errs := runT("keygen", "--out", key); code != exitOK || !strings.HasPrefix(out, "key ") {
		t.Fatalf("keygen = %d %q %q", code, out, errs)
	}
	b1 := filepath.Join(dir, "b1")
	code, out, errs := runT("pack", in, "--out", b1, "--epoch", "5", "--sign", key, "--json", "--chunk-bytes", "128")
	var pr packResult
	if code != exitOK || json.Unmarshal([]byte(out), &pr) != nil || pr.Schema != "cohesix-cas/manifest-v2" || pr.Expires == 0 || pr.Chunks == 0 {
		t.Fatalf("pack --json = %d %q %q; want one v2 object with a default expiry", code, out, errs)
	}
	code, out, errs = runT("verify", b1, "--key", key+".pub", "--json")
	var r map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &r) != nil || r["ok"] != true || r["signature"] != "valid" {
		t.Fatalf("verify --json = %d %q %q; want ok", code, out, errs)
	}
	// A tampered chunk: exit 1 and the chunk named.
	names, _ := os.ReadDir(filepath.Join(b1, "chunks"))
	victim := filepath.Join(b1, "chunks", names[0].Name())
	os.WriteFile(victim, bytes.Repeat([]byte{1}, 128), 0o644)
	if code, _, errs := runT("verify", b1, "--key", key+".pub"); code != exitFailed || !strings.Contains(errs, names[0].Name()) {
		t.Errorf("verify(tampered) = %d %q; want 1 naming %s", code, errs, names[0].Name())
	}
	// Delta: needs --base.
	os.WriteFile(filepath.Join(in, "a"), []byte("alpha2"), 0o644)
	b0 := filepath.Join(dir, "b0")
	if code, _, errs := runT("pack", "--input", in, "--out-dir", b0, "--epoch", "6", "--chunk-bytes", "128"); code != exitOK {
		t.Fatalf("pack (spec flag spellings) = %d %q", code, errs)
	}
	os.WriteFile(filepath.Join(in, "c"), []byte("new"), 0o644)
	b2 := filepath.Join(dir, "b2")
	if code, _, errs := runT("pack", in, "--out", b2, "--epoch", "7", "--delta-from", b0, "--chunk-bytes", "128"); code != exitOK {
		t.Fatalf("pack --delta-from = %d %q", code, errs)
	}
	if code, _, errs := runT("verify", b2, "--unsigned"); code != exitFailed || !strings.Contains(errs, "pass --base") {
		t.Errorf("verify(delta, no base) = %d %q; want 1 and pass --base", code, errs)
	}
	if code, _, errs := runT("verify", b2, "--unsigned", "--base", b0); code != exitOK {
		t.Errorf("verify(delta, base) = %d %q; want 0", code, errs)
	}
	// Keysets.
	root := filepath.Join(dir, "root")
	runT("keygen", "--out", root)
	ks := filepath.Join(dir, "ks.cbor")
	if code, _, errs := runT("keyset", "--root", root, "--version", "1", "--key", key+".pub", "--out", ks); code != exitOK {
		t.Fatalf("keyset = %d %q", code, errs)
	}
	b3 := filepath.Join(dir, "b3")
	runT("pack", in, "--out", b3, "--epoch", "8", "--sign", key)
	if code, _, errs := runT("verify", b3, "--keyset", ks, "--root", root+".pub"); code != exitOK {
		t.Errorf("verify --keyset = %d %q; want 0", code, errs)
	}
	other := filepath.Join(dir, "other")
	runT("keygen", "--out", other)
	if code, _, _ := runT("verify", b3, "--keyset", ks, "--root", other+".pub"); code != exitFailed {
		t.Errorf("verify --keyset with the wrong root = %d; want 1", code)
	}
	if code, _, _ := runT("verify", b3, "--key", other+".pub"); code != exitFailed {
		t.Errorf("verify with the wrong key = %d; want 1", code)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"verify"},
		{"verify", "b"},                  // no key choice
		{"verify", "b", "--keyset", "k"}, // no root
		{"pack", "d", "--out", "o", "--epoch", "x1"},
		{"pack", "d", "e", "--out", "o", "--epoch", "1"},
		{"keygen"},
		{"pack", "--no-such-flag"},
		{"upload"},
	} {
		if code, _, errs := runT(args...); code != exitUsage {
			t.Errorf("cas-tool %q = %d %q; want %d", args, code, errs, exitUsage)
		}
	}
}

// TestUsageWalk (STYLE §7): every command's help starts "Usage: cas-tool
// <sub>", help lines start with a capital and have no final period, and
// the top usage names the upload command.
func TestUsageWalk(t *testing.T) {
	code, out, _ := runT("--help")
	if code != exitOK || !strings.HasPrefix(out, "Usage: cas-tool ") || !strings.Contains(out, "upload") {
		t.Errorf("cas-tool --help = %d %q", code, out)
	}
	for _, c := range commands(&env{}) {
		code, out, _ := runT(c.Name, "--help")
		if code != exitOK || !strings.HasPrefix(out, "Usage: cas-tool "+c.Name) {
			t.Errorf("cas-tool %s --help = %d %q", c.Name, code, out)
		}
		lines := []string{c.Usage}
		for _, f := range c.Flags {
			lines = append(lines, f.(interface{ GetUsage() string }).GetUsage())
		}
		for _, l := range lines {
			if l == "" || !unicode.IsUpper([]rune(l)[0]) || strings.HasSuffix(l, ".") {
				t.Errorf("cas-tool %s: help line %q: want a capital first letter and no final period", c.Name, l)
			}
		}
	}
}
