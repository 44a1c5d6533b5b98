// coh-rtc compiles the root-task manifests into the tables, resolved copies,
// doc snippets and boot script that the rest of Cohesix builds from.
//
// Synopsis:
//
//	coh-rtc [--root DIR] [--into DIR] [--check ROOT]
//	coh-rtc [--out-go DIR] [--out DIR] [--docs DIR] [--script FILE] [--source NAME] [--check ROOT] MANIFEST
//
// Description:
//
// Without MANIFEST coh-rtc compiles every profile of the repository at
// --root (default .; see profiles): the dev profile configs/root_task.toml
// and the fleet profile configs/root_task.fleet.toml (DECISIONS P50). Each
// profile's Go tables carry a build constraint, so one build holds exactly
// one profile: dev by default, fleet with -tags cohesix_fleet. Outputs go
// under --into (default: the root), byte for byte the same on every run:
//
//	generated/manifest.go                        dev tables (//go:build !cohesix_fleet)
//	generated/manifest/root_task_resolved.*      dev resolved manifest, committed
//	generated/manifest_fleet.go                  fleet tables (//go:build cohesix_fleet)
//	generated/manifest/fleet/root_task_resolved.* fleet resolved manifest, committed
//	out/manifests/[fleet/]...                    the same resolved files, for tools (gitignored)
//	docs/snippets/*.md, spliced regions of docs/*.md, scripts/cohsh/boot_v0.coh
//	                                             from the dev profile only
//
// With MANIFEST coh-rtc compiles that one manifest, as for an operator's
// production build tree, into:
//
//	<out-go>/manifest.go                              Go constants and tables (package generated)
//	<out-go>/manifest/root_task_resolved.{json,cbor}  resolved manifest
//	<out-go>/manifest/*.sha256                        "<hex>  <name>" fingerprints
//	<out>/manifests/...                               the same resolved files, for tools
//	<docs>/*.md                                       doc snippets ending in the manifest hash
//	<script>                                          the boot smoke .coh script
//
// With --check ROOT nothing is written: the outputs that are committed
// (generated/, docs/snippets/, the boot script) are compared with the files
// under ROOT and every differing file is listed. Without MANIFEST the
// manifests and docs are then read from ROOT unless --root names another.
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

//go:generate go run . --root ../..

// profile is one manifest of the repository and where its outputs go, all
// relative to the repository root.
type profile struct {
	manifest string // the TOML source
	goFile   string // the Go tables under generated/
	tag      string // the build constraint of goFile
	resolved string // the resolved JSON/CBOR (committed) under generated/
	out      string // the same, uncommitted, under out/
	docs     bool   // writes docs/snippets, the spliced docs and the boot script
}

// fleetTag is the build tag that selects the fleet profile's tables.
const fleetTag = "cohesix_fleet"

// profiles are the repository's manifests. Only dev feeds the docs: they
// describe the default build, and one set of snippets keeps them readable.
var profiles = []profile{
	{manifest: "configs/root_task.toml", goFile: "manifest.go", tag: "!" + fleetTag, resolved: "manifest", out: "manifests", docs: true},
	{manifest: "configs/root_task.fleet.toml", goFile: "manifest_fleet.go", tag: fleetTag, resolved: "manifest/fleet", out: "manifests/fleet"},
}

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// job is one compile: the manifest to read and the output paths.
type job struct {
	in, source            string // file read, name recorded in headers
	goPath, tag           string
	resolved, outManifest string // directories
	docs, script          string // "" writes none
	docsRoot              string // where the docs to splice are read
}

func run(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("coh-rtc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outGo := fs.String("out-go", "generated", "with MANIFEST: directory of the generated Go package")
	out := fs.String("out", "out", "with MANIFEST: directory for uncommitted outputs (out/manifests)")
	docs := fs.String("docs", "docs/snippets", "with MANIFEST: directory for doc snippets")
	script := fs.String("script", "scripts/cohsh/boot_v0.coh", "with MANIFEST: path of the generated boot script")
	check := fs.String("check", "", "compare committed outputs with the tree at `ROOT` instead of writing")
	source := fs.String("source", "", "with MANIFEST: manifest name recorded in generated headers (default: MANIFEST as given)")
	root := fs.String("root", "", "without MANIFEST: the repository whose profiles are compiled (default: the --check ROOT, else .)")
	into := fs.String("into", "", "without MANIFEST: write the outputs under `DIR` instead of the root")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: coh-rtc [--root DIR] [--into DIR] [--check ROOT]")
		fmt.Fprintln(stderr, "       coh-rtc [--out-go DIR] [--out DIR] [--docs DIR] [--script FILE] [--source NAME] [--check ROOT] MANIFEST")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var jobs []job
	base := "" // where the paths of the outputs are rooted when written
	switch fs.NArg() {
	case 0:
		for _, f := range []string{"out-go", "out", "docs", "script", "source"} {
			if set[f] {
				fmt.Fprintf(stderr, "coh-rtc: --%s needs the MANIFEST it is for\n", f)
				fs.Usage()
				return 2
			}
		}
		r := *root
		if r == "" {
			r = "."
			if *check != "" {
				r = *check
			}
		}
		jobs, base = repoJobs(r), r
		if *into != "" {
			base = *into
		}
	case 1:
		if set["root"] || set["into"] {
			fmt.Fprintln(stderr, "coh-rtc: --root and --into compile the repository's profiles; drop MANIFEST or use --out-go, --out, --docs and --script")
			fs.Usage()
			return 2
		}
		in := fs.Arg(0)
		name := filepath.ToSlash(in)
		if *source != "" {
			name = *source
		}
		readRoot := "."
		if *check != "" {
			readRoot = *check
		}
		jobs = []job{{in: in, source: name, goPath: filepath.Join(*outGo, "manifest.go"), resolved: filepath.Join(*outGo, "manifest"),
			outManifest: filepath.Join(*out, "manifests"), docs: *docs, script: *script, docsRoot: readRoot}}
	default:
		fmt.Fprintf(stderr, "coh-rtc: unexpected arguments %q\n", fs.Args()[1:])
		fs.Usage()
		return 2
	}

	committed, files := map[string][]byte{}, map[string][]byte{}
	for _, j := range jobs {
		c, sha, err := compile(j, committed, files)
		if err != nil {
			var me *manifest.Error
			if errors.As(err, &me) {
				fmt.Fprintln(stderr, me.Error())
			} else {
				fmt.Fprintf(stderr, "coh-rtc: %v\n", err)
			}
			return 1
		}
		if *check == "" {
			fmt.Fprintf(stdout, "coh-rtc: %s ok, sha256 %s, %d files\n", j.source, sha, c)
		}
	}
	if *check != "" {
		return checkDrift(*check, committed, stdout, stderr)
	}
	for _, p := range sortedKeys(files) {
		if err := writeIfChanged(filepath.Join(base, p), files[p]); err != nil {
			fmt.Fprintf(stderr, "coh-rtc: %v\n", err)
			return 1
		}
	}
	return 0
}

// repoJobs are the compiles of every profile of the repository at root,
// with output paths relative to the repository.
func repoJobs(root string) []job {
	var jobs []job
	for _, p := range profiles {
		j := job{
			in: filepath.Join(root, p.manifest), source: p.manifest, tag: p.tag,
			goPath:      filepath.Join("generated", p.goFile),
			resolved:    filepath.Join("generated", p.resolved),
			outManifest: filepath.Join("out", p.out),
		}
		if p.docs {
			j.docs = filepath.Join("docs", "snippets")
			j.script = filepath.Join("scripts", "cohsh", "boot_v0.coh")
			j.docsRoot = root
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// compile runs one job: the committed outputs go to committed, and every
// output (committed or not) to files. It returns the number of files and
// the manifest hash.
func compile(j job, committed, files map[string][]byte) (int, string, error) {
	data, err := os.ReadFile(j.in)
	if err != nil {
		return 0, "", fmt.Errorf("read manifest: %w", err)
	}
	dir := filepath.Dir(j.in)
	opts := manifest.Options{BaseDirs: []string{dir, filepath.Dir(dir)}, ReadFile: os.ReadFile}
	_, a, err := manifest.Compile(j.source, data, opts)
	if err != nil {
		return 0, "", err
	}
	goSrc := a.Go
	if j.tag != "" {
		if goSrc, err = manifest.Constrain(a.Go, j.tag); err != nil {
			return 0, "", err
		}
	}
	mine := map[string][]byte{j.goPath: goSrc}
	mine[filepath.Join(j.resolved, manifest.ResolvedJSONName)] = a.JSON
	mine[filepath.Join(j.resolved, manifest.ResolvedJSONName+".sha256")] = a.JSONSum
	mine[filepath.Join(j.resolved, manifest.ResolvedCBORName)] = a.CBOR
	mine[filepath.Join(j.resolved, manifest.ResolvedCBORName+".sha256")] = a.CBORSum
	if j.script != "" {
		mine[j.script] = a.BootScript
	}
	if j.docs != "" {
		for n, b := range a.Snippets {
			mine[filepath.Join(j.docs, n)] = b
		}
		spliced, err := splicedDocs(j.docsRoot, filepath.Dir(j.docs), a.Snippets)
		if err != nil {
			return 0, "", fmt.Errorf("splice docs: %w", err)
		}
		for p, b := range spliced {
			mine[p] = b
		}
	}
	n := len(mine)
	for p, b := range mine {
		committed[p], files[p] = b, b
	}
	for _, name := range []string{manifest.ResolvedJSONName, manifest.ResolvedCBORName} {
		files[filepath.Join(j.outManifest, name)] = mine[filepath.Join(j.resolved, name)]
		files[filepath.Join(j.outManifest, name+".sha256")] = mine[filepath.Join(j.resolved, name+".sha256")]
		n += 2
	}
	return n, a.SHA256, nil
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
