package manifest

import (
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
)

// CheckHash compares the manifest hash a hive reports with the one this
// binary was built from (generated.ManifestSHA256). Clients call it after
// connecting and refuse to go on when it returns an error.
func CheckHash(reported string) error {
	return checkHash(reported, generated.ManifestSHA256)
}

func checkHash(reported, built string) error {
	if strings.EqualFold(strings.TrimSpace(reported), built) {
		return nil
	}
	return fmt.Errorf("manifest mismatch: hive reports sha256 %s, this client was built for %s; rebuild the client from the same configs/root_task.toml (make generate)", reported, built)
}
