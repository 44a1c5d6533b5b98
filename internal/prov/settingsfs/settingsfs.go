// Package settingsfs is the /proc/settings provider (milestone 27): the
// hive's A/B settings store (internal/settings) exposed only as files.
//
//	status   read-only: generation page entries used_bytes page_bytes manifest, a line each
//	current  read-only: every setting, key=value a line, sorted by key
//	set      write-only: key=value lines, one update per write
//	delete   write-only: key lines, one update per write
//
// Each write to set or delete is one update of the store: every line is
// checked first, then the whole change is written to the inactive page and
// committed, so a write applies all of its lines or none, and a power cut
// reads back the old set or the new one (DECISIONS P93, P102). The store
// lives on a block device: the platform's disk when it has one (seL4's
// virtio-blk, DECISIONS P96), else a file under the state directory, or
// memory without one.
//
// Identity binding (milestone 27): every update also records the
// fingerprint of the manifest the hive runs (generated.ManifestSHA256)
// under the reserved key cohesix.manifest, which writes cannot set.
// status says whether the settings on the device were written under this
// manifest (match), another (mismatch: also one audit line at boot), or
// never (none). A mismatch is reported, not refused: a manifest upgrade
// keeps the device's settings, and the operator sees that it happened.
package settingsfs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/abpage"
	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/settings"
)

// FileName is the settings device file in the state directory.
const FileName = "settings.blk"

// ManifestKey is the reserved key holding the fingerprint of the manifest
// that wrote the current generation; Reserved is the prefix writes cannot
// use.
const (
	ManifestKey = Reserved + "manifest"
	Reserved    = "cohesix."
)

// Config is what the provider needs.
type Config struct {
	Dir      string          // state directory; "" keeps the settings in memory
	Device   blockdev.Device // the platform's disk (its first Blocks()), used before Dir; Close closes it
	Manifest string          // the running manifest's fingerprint
	Audit    func(lines ...string)
}

// Settings is the open store behind /proc/settings.
type Settings struct {
	cfg Config
	mu  sync.Mutex // the store is single-goroutine; sessions are not
	dev blockdev.Device
	s   *settings.Store
}

// Blocks is the size of the store in persistence.block_bytes blocks: two
// pages of persistence.settings.page_bytes.
func Blocks() int64 {
	return int64(2 * generated.PersistenceSettingsPageBytes / generated.PersistenceBlockBytes)
}

// Open opens the settings store the manifest sizes.
func Open(cfg Config) (*Settings, error) {
	dev, own, err := blockdev.OpenStore(cfg.Device, cfg.Dir, FileName, generated.PersistenceBlockBytes, Blocks(), "persistence.block_bytes, persistence.settings.page_bytes")
	if err != nil {
		return nil, err
	}
	s, err := settings.Open(dev, limits())
	if err != nil {
		own.Close()
		return nil, fmt.Errorf("settings %s: %w", cfg.Dir, err)
	}
	return &Settings{cfg: cfg, dev: own, s: s}, nil
}

func limits() settings.Limits {
	return settings.Limits{MaxKeyBytes: generated.PersistenceSettingsMaxKeyBytes, MaxValueBytes: generated.PersistenceSettingsMaxValueBytes}
}

// Binding is how the settings on the device relate to the running
// manifest: "match", "mismatch" or "none" (never written).
func (st *Settings) Binding() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.binding()
}

func (st *Settings) binding() string {
	fp, ok := st.s.Get(ManifestKey)
	switch {
	case !ok:
		return "none"
	case fp == st.cfg.Manifest:
		return "match"
	}
	return "mismatch"
}

// BindingLine is the audit line for settings written under another
// manifest, "" otherwise. The hive writes it once its queen runs.
func (st *Settings) BindingLine() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.binding() != "mismatch" {
		return ""
	}
	fp, _ := st.s.Get(ManifestKey)
	return fmt.Sprintf("settings written under manifest=%s running manifest=%s generation=%d", auditline.Field(fp), st.cfg.Manifest, st.s.Generation())
}

// Close closes the device.
func (st *Settings) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.dev.Close()
}

// Status renders /proc/settings/status, one field per line.
func (st *Settings) Status() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	page := "none"
	if st.s.Generation() > 0 {
		page = string(st.s.Active())
	}
	used := len(settings.Encode(st.s.Entries())) + abpage.HeaderLen
	return fmt.Appendf(nil, "generation=%d\npage=%s\nentries=%d\nused_bytes=%d\npage_bytes=%d\nmanifest=%s\n",
		st.s.Generation(), page, len(st.s.Entries()), used, generated.PersistenceSettingsPageBytes, st.binding())
}

// Current renders /proc/settings/current: key=value lines.
func (st *Settings) Current() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	var b []byte
	for _, e := range st.s.Entries() {
		b = append(append(append(append(b, e.Key...), '='), e.Value...), '\n')
	}
	return b
}

// Set applies a write to /proc/settings/set: key=value lines, one update.
func (st *Settings) Set(c ns.Caller, p []byte) (int, error) {
	var set []settings.Entry
	for _, line := range lines(p) {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return 0, st.refuse(c, "set", "invalid", k, errs.New(errs.ErrInvalid, "settings set: %q is not key=value", line))
		}
		set = append(set, settings.Entry{Key: k, Value: v})
	}
	return st.update(c, "set", p, set, nil)
}

// Delete applies a write to /proc/settings/delete: key lines, one update.
func (st *Settings) Delete(c ns.Caller, p []byte) (int, error) {
	return st.update(c, "delete", p, nil, lines(p))
}

// update commits set and del with the manifest's fingerprint, or refuses
// the whole write.
func (st *Settings) update(c ns.Caller, verb string, p []byte, set []settings.Entry, del []string) (int, error) {
	keys := slices.Clone(del)
	for _, e := range set {
		keys = append(keys, e.Key)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, Reserved) {
			return 0, st.refuse(c, verb, "reserved", k, errs.New(errs.ErrPermission, "settings %s: key %q is reserved (%s*)", verb, k, Reserved))
		}
	}
	if len(keys) == 0 {
		return 0, st.refuse(c, verb, "invalid", "", errs.New(errs.ErrInvalid, "settings %s: no key", verb))
	}
	st.mu.Lock()
	err := st.s.Update(append(set, settings.Entry{Key: ManifestKey, Value: st.cfg.Manifest}), del)
	st.mu.Unlock()
	switch {
	case err == nil:
		return len(p), nil
	case errors.Is(err, settings.ErrInvalid):
		return 0, st.refuse(c, verb, "invalid", "", errs.New(errs.ErrInvalid, "settings %s: %v", verb, err))
	case errors.Is(err, abpage.ErrTooLarge):
		return 0, st.refuse(c, verb, "too-large", "", errs.New(errs.ErrTooBig, "settings %s: %v", verb, err))
	}
	return 0, st.refuse(c, verb, "error", "", errs.New(errs.ErrInvalid, "settings %s: %v", verb, err))
}

// refuse audits a refused write (the key, never a value: a setting may be
// a credential) and returns err.
func (st *Settings) refuse(c ns.Caller, verb, reason, key string, err error) error {
	if st.cfg.Audit != nil {
		line := fmt.Sprintf("settings %s refused role=%s reason=%s", verb, c.Identity().Role, reason)
		if key != "" {
			line += " key=" + auditline.Field(key)
		}
		st.cfg.Audit(line)
	}
	return err
}

// lines splits a write into its lines; trailing newlines end the last one.
func lines(p []byte) []string {
	s := strings.TrimRight(string(p), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Node is the /proc/settings directory.
func (st *Settings) Node() ns.Node {
	return ns.Static{DirOps: ns.DirOps{Path: "/proc/settings"}, Entries: []ns.Entry{
		{Name: "status", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/settings/status"}, Render: st.Status}},
		{Name: "current", Node: ns.Content{ReadOnly: ns.ReadOnly{Path: "/proc/settings/current"}, Render: st.Current}},
		{Name: "set", Node: writeFile{apply: st.Set}},
		{Name: "delete", Node: writeFile{apply: st.Delete}},
	}}
}

// writeFile takes each write whole as one update; it reads empty.
type writeFile struct {
	ns.NotDir
	apply func(ns.Caller, []byte) (int, error)
}

func (writeFile) Stat() (ns.Stat, error)                               { return ns.Stat{Kind: ns.KindAppend}, nil }
func (writeFile) ReadAt(p []byte, off int64) (int, error)              { return ns.ReadBytes(nil, p, off) }
func (f writeFile) Append(c ns.Caller, p []byte, _ int64) (int, error) { return f.apply(c, p) }
