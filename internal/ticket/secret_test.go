package ticket

import (
	"testing"

	"github.com/cohesix/cohesix/generated"
)

func TestManifestSecret(t *testing.T) {
	for _, e := range generated.Tickets {
		r, err := ParseRole(e.Role)
		if err != nil {
			t.Fatalf("manifest role %q: %v", e.Role, err)
		}
		if got, ok := ManifestSecret(r); !ok || got != e.Secret {
			t.Errorf("ManifestSecret(%s) = %q, %v; want the manifest's secret", r, got, ok)
		}
	}
	if _, ok := ManifestSecret(Role(99)); ok {
		t.Errorf("ManifestSecret(99) found a secret; want none")
	}
}
