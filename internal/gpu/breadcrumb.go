package gpu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/cohesix/cohesix/generated"
)

// Breadcrumb is one gpu-breadcrumb/v1 line written by coh run.
type Breadcrumb struct {
	Schema   string `json:"schema"`
	Event    string `json:"event"`
	Command  string `json:"command"`
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code,omitempty"`
}

// BreadcrumbSchema is the manifest's breadcrumb schema id.
const BreadcrumbSchema = generated.ClientPoliciesCohRunBreadcrumbSchema

// TruncateCommand cuts a command line to the breadcrumb bound on a UTF-8
// boundary.
func TruncateCommand(cmd string, lim Limits) string {
	if len(cmd) <= lim.CommandMax {
		return cmd
	}
	cut := lim.CommandMax
	for cut > 0 && !utf8.RuneStart(cmd[cut]) {
		cut--
	}
	return cmd[:cut]
}

// Line renders b as one JSON line with its newline, or an error when it
// breaks a bound.
func (b Breadcrumb) Line(lim Limits) ([]byte, error) {
	if err := b.check(lim); err != nil {
		return nil, err
	}
	out, _ := json.Marshal(b)
	out = append(out, '\n')
	if len(out) > lim.BreadcrumbMax {
		return nil, fmt.Errorf("breadcrumb line exceeds %d bytes", lim.BreadcrumbMax)
	}
	return out, nil
}

func (b Breadcrumb) check(lim Limits) error {
	switch {
	case b.Schema != BreadcrumbSchema:
		return fmt.Errorf("breadcrumb schema %q", b.Schema)
	case len(b.Command) > lim.CommandMax || !utf8.ValidString(b.Command):
		return fmt.Errorf("breadcrumb command exceeds %d bytes", lim.CommandMax)
	case b.Event == "START" && b.Status == "RUNNING" && b.ExitCode == nil:
	case b.Event == "EXIT" && (b.Status == "OK" || b.Status == "ERR") && b.ExitCode != nil:
	default:
		return fmt.Errorf("breadcrumb event %q status %q", b.Event, b.Status)
	}
	return nil
}

// ParseBreadcrumb decodes one breadcrumb line strictly.
func ParseBreadcrumb(line []byte, lim Limits) (Breadcrumb, error) {
	var b Breadcrumb
	if len(line) > lim.BreadcrumbMax {
		return b, fmt.Errorf("breadcrumb line exceeds %d bytes", lim.BreadcrumbMax)
	}
	if !decodeStrict(bytes.TrimSpace(line), &b) {
		return b, fmt.Errorf("breadcrumb is not a gpu-breadcrumb/v1 object")
	}
	return b, b.check(lim)
}
