package hive

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/queen"
)

// Script profiles (DECISIONS P26): a .coh script whose first line is
// "# profile: <name>" runs in the regression pack against that profile's
// hive. The header is a comment, so cohsh sends nothing for it and the
// script runs unchanged against any real hive.
const (
	ProfileDev      = "dev"      // the compiled manifest as it is
	ProfileGoverned = "governed" // PolicyFS, AuditFS and ReplayFS on (queen.Governed)
)

// ScriptProfile returns the profile a script's first line names, or
// ProfileDev when it names none.
func ScriptProfile(src []byte) (string, error) {
	first, _, _ := bytes.Cut(src, []byte("\n"))
	name, ok := strings.CutPrefix(strings.TrimSpace(string(first)), "# profile:")
	if !ok {
		return ProfileDev, nil
	}
	switch name = strings.TrimSpace(name); name {
	case ProfileDev, ProfileGoverned:
		return name, nil
	}
	return "", fmt.Errorf("unknown script profile %q (want %s or %s)", name, ProfileDev, ProfileGoverned)
}

// WithProfile returns o set up for the named profile: ProfileGoverned
// replaces the queen configuration with queen.Governed().
func (o Options) WithProfile(name string) Options {
	if name == ProfileGoverned {
		cfg := queen.Governed()
		o.Queen = &cfg
	}
	return o
}
