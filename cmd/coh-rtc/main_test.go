package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compileInto runs coh-rtc with every output under dir.
func compileInto(t *testing.T, dir string) {
	t.Helper()
	var out, errb bytes.Buffer
	args := []string{
		"--out-go", filepath.Join(dir, "generated"),
		"--out", filepath.Join(dir, "out"),
		"--docs", filepath.Join(dir, "docs/snippets"),
		"--script", filepath.Join(dir, "scripts/cohsh/boot_v0.coh"),
		"--source", "configs/root_task.toml",
		"../../configs/root_task.toml",
	}
	if code := run(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("run(%q) = %d; want 0; stderr:\n%s", args, code, errb.String())
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestTwoRunsByteIdentical(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	compileInto(t, a)
	compileInto(t, b)
	ta, tb := readTree(t, a), readTree(t, b)
	if len(ta) < 15 {
		t.Errorf("first run wrote %d files; want at least 15", len(ta))
	}
	for p, data := range ta {
		if !bytes.Equal(data, tb[p]) {
			t.Errorf("%s differs between two runs", p)
		}
	}
	if len(ta) != len(tb) {
		t.Errorf("runs wrote %d and %d files", len(ta), len(tb))
	}
}

// TestCommittedGeneratedIsFresh is the drift gate: generated/ (every
// profile), docs/snippets and the boot script in the repository must match a
// fresh compile.
func TestCommittedGeneratedIsFresh(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"--check", "../.."}
	if code := run(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Errorf("coh-rtc --check = %d; want 0 (run make generate and commit):\n%s", code, errb.String())
	}
	if want := "coh-rtc: no drift in "; !strings.HasPrefix(out.String(), want) {
		t.Errorf("stdout %q; want %q", out.String(), want)
	}
}

// TestProfiles: without MANIFEST coh-rtc compiles every profile of the
// repository, each Go file under the build constraint that selects it (dev
// unless -tags cohesix_fleet), and only dev writes docs and the boot script.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--root", "../..", "--into", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("coh-rtc --root ../.. --into %s = %d; stderr:\n%s", dir, code, errb.String())
	}
	tree := readTree(t, dir)
	for file, tag := range map[string]string{"generated/manifest.go": "//go:build !cohesix_fleet\n", "generated/manifest_fleet.go": "//go:build cohesix_fleet\n"} {
		if !bytes.Contains(tree[file], []byte("\n\n"+tag+"\n// Package generated")) {
			t.Errorf("%s lacks %q after its header:\n%.200s", file, tag, tree[file])
		}
	}
	for _, f := range []string{
		"generated/manifest/root_task_resolved.json", "generated/manifest/fleet/root_task_resolved.json",
		"generated/manifest/fleet/root_task_resolved.cbor.sha256", "out/manifests/fleet/root_task_resolved.json",
		"docs/snippets/root_task_manifest.md", "docs/MANIFEST.md", "scripts/cohsh/boot_v0.coh",
	} {
		if tree[f] == nil {
			t.Errorf("%s not written", f)
		}
	}
	if !bytes.Contains(tree["generated/manifest/fleet/root_task_resolved.json"], []byte(`"name": "fleet"`)) {
		t.Errorf("fleet resolved JSON does not name the fleet profile")
	}
	if !bytes.Contains(tree["docs/snippets/root_task_manifest.md"], []byte("| `profile.name` | `\"dev\"` |")) {
		t.Errorf("doc snippets do not come from the dev profile")
	}
}

func TestCheckReportsDrift(t *testing.T) {
	dir := t.TempDir()
	compileInto(t, dir)
	p := filepath.Join(dir, "docs/snippets/console_limits.md")
	if err := os.WriteFile(p, []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	args := []string{
		"--check", dir,
		"--source", "configs/root_task.toml",
		"../../configs/root_task.toml",
	}
	if code := run(context.Background(), args, nil, &out, &errb); code != 1 {
		t.Fatalf("run(--check edited) = %d; want 1", code)
	}
	if !strings.Contains(errb.String(), "docs/snippets/console_limits.md (differs)") {
		t.Errorf("stderr = %q; want the edited file listed", errb.String())
	}
}

func TestUsageAndErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[root_task]\nschema = \"1.5\"\n[secure9p]\nmsize = 8193\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"stray argument", []string{"a.toml", "b.toml"}, 2, "unexpected arguments"},
		{"output flag without manifest", []string{"--out-go", "x"}, 2, "--out-go needs the MANIFEST it is for"},
		{"root with manifest", []string{"--root", ".", "a.toml"}, 2, "--root and --into compile the repository's profiles"},
		{"unknown flag", []string{"--nope"}, 2, "Usage: coh-rtc"},
		{"missing manifest", []string{filepath.Join(t.TempDir(), "none.toml")}, 1, "read manifest"},
		{"invalid manifest", []string{"--check", t.TempDir(), bad}, 1, "secure9p.msize = 8193 exceeds the maximum 8192"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, nil, &out, &errb); code != tt.code || !strings.Contains(errb.String(), tt.inStderr) {
				t.Errorf("run(%q) = %d, stderr %q; want %d containing %q", tt.args, code, errb.String(), tt.code, tt.inStderr)
			}
		})
	}
}
