package settingsfs_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/abpage"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/ns/nstest"
	"github.com/cohesix/cohesix/internal/prov/settingsfs"
)

func open(t *testing.T, dir, manifest string, audit *[]string) *settingsfs.Settings {
	t.Helper()
	st, err := settingsfs.Open(settingsfs.Config{Dir: dir, Manifest: manifest, Audit: func(l ...string) { *audit = append(*audit, l...) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var (
	read  = nstest.Read
	write = nstest.Write
)

func TestConformance(t *testing.T) {
	var audit []string
	st := open(t, "", "m1", &audit)
	nstest.TestProvider(t, ns.Plain(st.Node()),
		nstest.Lists("", "status", "current", "set", "delete"),
		nstest.Content("status", fmt.Sprintf("generation=0\npage=none\nentries=0\nused_bytes=%d\npage_bytes=%d\nmanifest=none\n", abpage.HeaderLen+2, generated.PersistenceSettingsPageBytes)),
		nstest.Content("current", ""),
		nstest.AppendError("status", "cannot write read-only file /proc/settings/status"),
		nstest.AppendError("current", "cannot write read-only file /proc/settings/current"),
	)
}

// TestRoundTripAndRestart: a write of several lines is one update (one
// generation), a delete another; the set, its generation and the manifest
// that wrote it survive a restart on the same state directory; a restart
// under another manifest keeps the settings and says so.
func TestRoundTripAndRestart(t *testing.T) {
	dir := t.TempDir()
	var audit []string
	d := open(t, dir, "m1", &audit).Node()
	if err := write(t, d, "set", "site=lab-3\nuplink=eth0\nnote=two words\n"); err != nil {
		t.Fatal(err)
	}
	if err := write(t, d, "delete", "uplink\n"); err != nil {
		t.Fatal(err)
	}
	want := "cohesix.manifest=m1\nnote=two words\nsite=lab-3\n"
	if got := read(t, d, "current"); got != want {
		t.Fatalf("current = %q; want %q", got, want)
	}
	status := read(t, d, "status")
	if !strings.Contains(status, "generation=2\npage=B\nentries=3\n") || !strings.Contains(status, "manifest=match\n") {
		t.Fatalf("status = %q", status)
	}
	if len(audit) != 0 {
		t.Errorf("audit for accepted writes: %q", audit)
	}

	again := open(t, dir, "m1", &audit)
	if got := read(t, again.Node(), "current"); got != want {
		t.Fatalf("current after restart = %q; want %q", got, want)
	}
	if l := again.BindingLine(); l != "" {
		t.Errorf("binding line under the same manifest: %q", l)
	}
	again.Close()

	other := open(t, dir, "m2", &audit)
	if got := read(t, other.Node(), "current"); got != want {
		t.Fatalf("current under another manifest = %q; want %q", got, want)
	}
	if s := read(t, other.Node(), "status"); !strings.Contains(s, "manifest=mismatch\n") {
		t.Errorf("status under another manifest = %q", s)
	}
	if l := other.BindingLine(); l != "settings written under manifest=m1 running manifest=m2 generation=2" {
		t.Errorf("binding line = %q", l)
	}
	// The next update records the running manifest.
	if err := write(t, other.Node(), "set", "site=lab-4"); err != nil {
		t.Fatal(err)
	}
	if s := read(t, other.Node(), "status"); !strings.Contains(s, "generation=3\n") || !strings.Contains(s, "manifest=match\n") {
		t.Errorf("status after an update under m2 = %q", s)
	}
}

// TestRefusalsChangeNothing: a write with one bad line, a reserved key, a
// set that outgrows the page and an empty write are refused with the
// spec's error class and one audit line each (naming the key, never a
// value), and the store keeps its generation and contents: no partial
// update.
func TestRefusalsChangeNothing(t *testing.T) {
	dir := t.TempDir()
	var audit []string
	d := open(t, dir, "m1", &audit).Node()
	if err := write(t, d, "set", "site=lab-3"); err != nil {
		t.Fatal(err)
	}
	before, beforeStatus := read(t, d, "current"), read(t, d, "status")
	big := strings.Repeat("v", generated.PersistenceSettingsMaxValueBytes)
	var fill strings.Builder
	for i := range generated.PersistenceSettingsPageBytes / generated.PersistenceSettingsMaxValueBytes * 2 {
		fmt.Fprintf(&fill, "k%d=%s\n", i, big)
	}
	for _, tc := range []struct {
		file, data string
		class      error
		audit      string
	}{
		{"set", "a=1\nno-equals-sign\n", errs.ErrInvalid, "settings set refused role=queen reason=invalid key=no-equals-sign"},
		{"set", "a=1\nbad key=2\n", errs.ErrInvalid, "settings set refused role=queen reason=invalid"},
		{"set", "a=1\nb=ctl\x07\n", errs.ErrInvalid, "settings set refused role=queen reason=invalid"},
		{"set", "a=" + big + "x\n", errs.ErrInvalid, "settings set refused role=queen reason=invalid"},
		{"set", "cohesix.manifest=forged\n", errs.ErrPermission, "settings set refused role=queen reason=reserved key=cohesix.manifest"},
		{"delete", "cohesix.manifest\n", errs.ErrPermission, "settings delete refused role=queen reason=reserved key=cohesix.manifest"},
		{"set", fill.String(), errs.ErrTooBig, "settings set refused role=queen reason=too-large"},
		{"delete", "\n", errs.ErrInvalid, "settings delete refused role=queen reason=invalid"},
	} {
		audit = nil
		err := write(t, d, tc.file, tc.data)
		if !errors.Is(err, tc.class) {
			t.Errorf("%s %.40q: %v; want %v", tc.file, tc.data, err, tc.class)
		}
		if len(audit) != 1 || audit[0] != tc.audit {
			t.Errorf("%s %.40q: audit %q; want %q", tc.file, tc.data, audit, tc.audit)
		}
		if strings.Contains(strings.Join(audit, "\n"), "forged") || strings.Contains(strings.Join(audit, "\n"), big) {
			t.Errorf("audit carries a value: %q", audit)
		}
		if got := read(t, d, "current"); got != before {
			t.Fatalf("%s %.40q changed the settings: %q", tc.file, tc.data, got)
		}
		if got := read(t, d, "status"); got != beforeStatus {
			t.Fatalf("%s %.40q changed the status: %q", tc.file, tc.data, got)
		}
	}
}

// TestCorruptPageReadsOld: a page torn by a cut while it was being
// written (the inactive one) leaves the store on the old generation.
func TestCorruptPageReadsOld(t *testing.T) {
	dir := t.TempDir()
	var audit []string
	st := open(t, dir, "m1", &audit)
	if err := write(t, st.Node(), "set", "site=lab-3"); err != nil { // page A, generation 1
		t.Fatal(err)
	}
	if err := write(t, st.Node(), "set", "site=lab-4"); err != nil { // page B, generation 2
		t.Fatal(err)
	}
	st.Close()
	f, err := os.OpenFile(filepath.Join(dir, settingsfs.FileName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("torn"), int64(generated.PersistenceSettingsPageBytes)+30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	again := open(t, dir, "m1", &audit)
	if got := read(t, again.Node(), "current"); got != "cohesix.manifest=m1\nsite=lab-3\n" {
		t.Fatalf("current after a torn page B = %q; want generation 1's set", got)
	}
	if s := read(t, again.Node(), "status"); !strings.Contains(s, "generation=1\npage=A\n") {
		t.Errorf("status = %q", s)
	}
}
