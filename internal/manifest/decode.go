package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Error carries every diagnostic coh-rtc found in one manifest, one per line,
// sorted. Each line reads "<file>: <key.path> = <value> <rule broken>" (or
// "<file>:<line>:<column>: ..." for syntax errors).
type Error struct {
	File  string
	Diags []string // without the file prefix
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, d := range e.Diags {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if !strings.HasPrefix(d, ":") {
			b.WriteString(": ")
		}
		b.WriteString(d)
	}
	return b.String()
}

// Lines returns the diagnostics with the file prefix, one per element.
func (e *Error) Lines() []string { return strings.Split(e.Error(), "\n") }

// Options inject the outside world into Load so that tests and the fuzzer
// control it. Zero values use the real file system.
type Options struct {
	// ReadFile reads files named by the manifest (cas.signing.key_path);
	// coh-rtc passes os.ReadFile. Nil means no file can be read, which keeps
	// this package free of the OS.
	ReadFile func(name string) ([]byte, error)
	// BaseDirs are tried in order to resolve relative paths in the manifest
	// (the manifest's directory, then the repository root).
	BaseDirs []string
}

func (o Options) readFile(name string) ([]byte, error) {
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return nil, fmt.Errorf("read %s: no file reader configured", name)
}

// Load decodes, defaults and validates manifest text. file names the manifest
// in diagnostics. On failure the error is an *Error listing every problem.
func Load(file string, data []byte, opts Options) (*Manifest, error) {
	m, raw, err := decode(file, data)
	if err != nil {
		return nil, err
	}
	if diags := validate(m, raw, opts); len(diags) > 0 {
		return nil, &Error{File: file, Diags: diags}
	}
	return m, nil
}

// decode parses data strictly into a defaulted Manifest. raw is the untyped
// tree, kept to tell an omitted key from an explicit zero.
func decode(file string, data []byte) (*Manifest, map[string]any, error) {
	m := Defaults()
	d := toml.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(m); err != nil {
		return nil, nil, &Error{File: file, Diags: decodeDiags(err)}
	}
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		return nil, nil, &Error{File: file, Diags: decodeDiags(err)}
	}
	applyListDefaults(m, raw)
	return m, raw, nil
}

var mismatchRE = regexp.MustCompile(`^cannot decode TOML (\w+) into (?:struct field \S+ of type|a Go value of type) (\S+)$`)

func decodeDiags(err error) []string {
	var se *toml.StrictMissingError
	if errors.As(err, &se) {
		var out []string
		for _, e := range se.Errors {
			row, col := e.Position()
			out = append(out, fmt.Sprintf("%s is not a known key (line %d, column %d)", strings.Join(e.Key(), "."), row, col))
		}
		sort.Strings(out)
		return out
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if sm := mismatchRE.FindStringSubmatch(msg); sm != nil {
			msg = fmt.Sprintf("has the wrong type: got %s, want %s", sm[1], tomlKind(sm[2]))
		}
		if k := de.Key(); len(k) > 0 {
			return []string{fmt.Sprintf(":%d:%d: %s %s", row, col, strings.Join(k, "."), msg)}
		}
		return []string{fmt.Sprintf(":%d:%d: %s", row, col, msg)}
	}
	return []string{strings.TrimPrefix(err.Error(), "toml: ")}
}

func tomlKind(goType string) string {
	switch {
	case goType == "int64":
		return "integer"
	case goType == "float64":
		return "float"
	case goType == "bool":
		return "boolean"
	case goType == "string":
		return "string"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	}
	return "table"
}

// rawGet walks the untyped tree: string elements index tables, int elements
// index arrays.
func rawGet(raw any, path ...any) (any, bool) {
	cur := raw
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = mm[k]; !ok {
				return nil, false
			}
		case int:
			arr, ok := cur.([]any)
			if !ok || k < 0 || k >= len(arr) {
				return nil, false
			}
			cur = arr[k]
		}
	}
	return cur, true
}

func has(raw any, path ...any) bool {
	_, ok := rawGet(raw, path...)
	return ok
}

// applyListDefaults fills list defaults and array-element defaults that the
// TOML decoder cannot merge, and turns nil lists into empty ones so that the
// resolved forms never hold null.
func applyListDefaults(m *Manifest, raw map[string]any) {
	if !has(raw, "lifecycle", "auto_transitions") {
		m.Lifecycle.AutoTransitions = append([]Transition(nil), defaultAutoTransitions...)
	}
	if !has(raw, "client_policies", "coh", "mount", "allowlist") {
		m.ClientPolicies.Coh.Mount.Allowlist = append([]string(nil), defaultAllowlist...)
	}
	if !has(raw, "swarmui", "paths", "namespace_roots") {
		m.SwarmUI.Paths.NamespaceRoots = append([]string(nil), defaultNamespaceRoots...)
	}
	if !has(raw, "network", "trusted_forwarders") {
		m.Network.TrustedForwarders = append([]string(nil), defaultTrustedForwarders...)
	}
	for name, bus := range map[string]*BusSidecar{"modbus": &m.Sidecars.Modbus, "dnp3": &m.Sidecars.DNP3} {
		for i := range bus.Adapters {
			if !has(raw, "sidecars", name, "adapters", i, "spool", "max_entries") {
				bus.Adapters[i].Spool.MaxEntries = defaultSpool.MaxEntries
			}
			if !has(raw, "sidecars", name, "adapters", i, "spool", "max_bytes") {
				bus.Adapters[i].Spool.MaxBytes = defaultSpool.MaxBytes
			}
		}
	}
	nonNil(&m.Tickets)
	nonNil(&m.Namespaces.Mounts)
	nonNil(&m.Lifecycle.AutoTransitions)
	nonNil(&m.Sidecars.Modbus.Adapters)
	nonNil(&m.Sidecars.DNP3.Adapters)
	nonNil(&m.Sidecars.Lora.Adapters)
	nonNil(&m.Ecosystem.Host.Providers)
	nonNil(&m.Ecosystem.Policy.Rules)
	nonNil(&m.ClientPolicies.Coh.Mount.Allowlist)
	nonNil(&m.SwarmUI.Paths.NamespaceRoots)
	nonNil(&m.Network.TrustedForwarders)
	for i := range m.Namespaces.Mounts {
		nonNil(&m.Namespaces.Mounts[i].Target)
	}
}

func nonNil[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}
