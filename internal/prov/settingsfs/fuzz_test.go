package settingsfs_test

import (
	"strings"
	"testing"
)

// FuzzSettingsWrite: any bytes written to /proc/settings/set or delete
// either apply as a whole or are refused and change nothing; whatever is
// current afterwards is key=value lines that read back the same after a
// restart (the page the write committed decodes to the same set).
func FuzzSettingsWrite(f *testing.F) {
	for _, seed := range []string{
		"site=lab-3", "a=1\nb=2\n", "a=1\nno-equals\n", "cohesix.manifest=x", "k=v\x00", "=v", "k =v",
		"k=" + strings.Repeat("v", 1100), "\n\n", "k=é\nl=\u2028", "k=v=w",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data string, del bool) {
		dir := t.TempDir()
		var audit []string
		st := open(t, dir, "m1", &audit)
		d := st.Node()
		if err := write(t, d, "set", "keep=1"); err != nil {
			t.Fatal(err)
		}
		before, status := read(t, d, "current"), read(t, d, "status")
		file := "set"
		if del {
			file = "delete"
		}
		audit = nil
		err := write(t, d, file, data)
		after := read(t, d, "current")
		if err != nil {
			if after != before || read(t, d, "status") != status {
				t.Fatalf("refused %s %q changed the store: %q -> %q", file, data, before, after)
			}
			if len(audit) != 1 {
				t.Fatalf("refused %s %q: %d audit lines", file, data, len(audit))
			}
			return
		}
		for _, line := range strings.Split(strings.TrimSuffix(after, "\n"), "\n") {
			if k, _, ok := strings.Cut(line, "="); !ok || k == "" {
				t.Fatalf("current holds %q after %s %q", line, file, data)
			}
		}
		st.Close()
		if got := read(t, open(t, dir, "m1", &audit).Node(), "current"); got != after {
			t.Fatalf("after a restart current = %q; before it %q", got, after)
		}
	})
}
