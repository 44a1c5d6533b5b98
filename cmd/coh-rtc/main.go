// coh-rtc compiles the root-task manifest into the tables, resolved copies,
// doc snippets and boot script that the rest of Cohesix builds from.
//
// Synopsis:
//
//	coh-rtc [--out-go DIR] [--out DIR] [--docs DIR] [--script FILE] [--check ROOT] [MANIFEST]
//
// Description:
//
// coh-rtc decodes MANIFEST (default configs/root_task.toml) strictly, applies
// defaults, validates every rule of spec/manifest.md and writes, byte for
// byte the same on every run:
//
//	<out-go>/manifest.go                              Go constants and tables (package generated)
//	<out-go>/manifest/root_task_resolved.{json,cbor}  resolved manifest, committed
//	<out-go>/manifest/*.sha256                        "<hex>  <name>" fingerprints
//	<out>/manifests/...                               the same resolved files, for tools (gitignored)
//	<docs>/*.md                                       doc snippets ending in the manifest hash
//	<script>                                          the boot smoke .coh script
//
// With --check ROOT nothing is written: the outputs that are committed
// (generated/, docs/snippets/, the boot script) are compared with the files
// under ROOT and every differing file is listed.
//
// Diagnostics go to stderr, one per line: "<file>: <key.path> = <value> <rule>".
//
// Exit status: 0 success, 1 invalid manifest or drift, 2 usage error.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/cohesix/cohesix/internal/manifest"
)

//go:generate go run . --out-go ../../generated --out ../../out --docs ../../docs/snippets --script ../../scripts/cohsh/boot_v0.coh --source configs/root_task.toml ../../configs/root_task.toml

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("coh-rtc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outGo := fs.String("out-go", "generated", "directory of the generated Go package")
	out := fs.String("out", "out", "directory for uncommitted outputs (out/manifests)")
	docs := fs.String("docs", "docs/snippets", "directory for doc snippets")
	script := fs.String("script", "scripts/cohsh/boot_v0.coh", "path of the generated boot script")
	check := fs.String("check", "", "compare committed outputs with the tree at `ROOT` instead of writing")
	source := fs.String("source", "", "manifest name recorded in generated headers (default: MANIFEST as given)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: coh-rtc [--out-go DIR] [--out DIR] [--docs DIR] [--script FILE] [--check ROOT] [MANIFEST]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in := "configs/root_task.toml"
	switch fs.NArg() {
	case 0:
	case 1:
		in = fs.Arg(0)
	default:
		fmt.Fprintf(stderr, "coh-rtc: unexpected arguments %q\n", fs.Args()[1:])
		fs.Usage()
		return 2
	}
	name := filepath.ToSlash(in)
	if *source != "" {
		name = *source
	}
	data, err := os.ReadFile(in)
	if err != nil {
		fmt.Fprintf(stderr, "coh-rtc: read manifest: %v\n", err)
		return 1
	}
	dir := filepath.Dir(in)
	opts := manifest.Options{BaseDirs: []string{dir, filepath.Dir(dir)}, ReadFile: os.ReadFile}
	_, a, err := manifest.Compile(name, data, opts)
	if err != nil {
		var me *manifest.Error
		if errors.As(err, &me) {
			fmt.Fprintln(stderr, me.Error())
		} else {
			fmt.Fprintf(stderr, "coh-rtc: %v\n", err)
		}
		return 1
	}

	committed := map[string][]byte{
		filepath.Join(*outGo, "manifest.go"): a.Go,
		filepath.Join(*script):               a.BootScript,
	}
	for _, dst := range []string{filepath.Join(*outGo, "manifest")} {
		committed[filepath.Join(dst, manifest.ResolvedJSONName)] = a.JSON
		committed[filepath.Join(dst, manifest.ResolvedJSONName+".sha256")] = a.JSONSum
		committed[filepath.Join(dst, manifest.ResolvedCBORName)] = a.CBOR
		committed[filepath.Join(dst, manifest.ResolvedCBORName+".sha256")] = a.CBORSum
	}
	for n, b := range a.Snippets {
		committed[filepath.Join(*docs, n)] = b
	}
	readRoot := "."
	if *check != "" {
		readRoot = *check
	}
	docsDir := filepath.Dir(*docs)
	spliced, err := splicedDocs(readRoot, docsDir, a.Snippets)
	if err != nil {
		fmt.Fprintf(stderr, "coh-rtc: splice docs: %v\n", err)
		return 1
	}
	for p, b := range spliced {
		committed[p] = b
	}

	if *check != "" {
		return checkDrift(*check, committed, stdout, stderr)
	}

	files := map[string][]byte{}
	for p, b := range committed {
		files[p] = b
	}
	od := filepath.Join(*out, "manifests")
	files[filepath.Join(od, manifest.ResolvedJSONName)] = a.JSON
	files[filepath.Join(od, manifest.ResolvedJSONName+".sha256")] = a.JSONSum
	files[filepath.Join(od, manifest.ResolvedCBORName)] = a.CBOR
	files[filepath.Join(od, manifest.ResolvedCBORName+".sha256")] = a.CBORSum
	for _, p := range sortedKeys(files) {
		if err := writeIfChanged(p, files[p]); err != nil {
			fmt.Fprintf(stderr, "coh-rtc: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "coh-rtc: %s ok, sha256 %s, %d files\n", name, a.SHA256, len(files))
	return 0
}

// checkDrift compares each committed output with its copy under root.
func checkDrift(root string, files map[string][]byte, stdout, stderr io.Writer) int {
	var drift []string
	for _, p := range sortedKeys(files) {
		have, err := os.ReadFile(filepath.Join(root, p))
		switch {
		case err != nil:
			drift = append(drift, filepath.ToSlash(p)+" (missing)")
		case !bytes.Equal(have, files[p]):
			drift = append(drift, filepath.ToSlash(p)+" (differs)")
		}
	}
	if len(drift) == 0 {
		fmt.Fprintf(stdout, "coh-rtc: no drift in %d files\n", len(files))
		return 0
	}
	fmt.Fprintln(stderr, "coh-rtc: drift detected; run make generate (or go generate ./cmd/coh-rtc) and commit:")
	for _, d := range drift {
		fmt.Fprintln(stderr, "  "+d)
	}
	return 1
}

// writeIfChanged leaves identical files untouched so that mtimes and build
// caches stay stable.
func writeIfChanged(p string, data []byte) error {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
