// Command coh-rtc compiles configs/root_task.toml into generated/.
//
// Bootstrap version: parses the manifest and emits the Go tables. The full
// compiler (validation, resolved JSON/CBOR, doc snippets) replaces this.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cohesix/cohesix/internal/manifest"
	"github.com/pelletier/go-toml/v2"
)

func main() {
	in := "configs/root_task.toml"
	out := "generated"
	if len(os.Args) > 1 {
		in = os.Args[1]
	}
	data, err := os.ReadFile(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var tree map[string]any
	if err := toml.Unmarshal(data, &tree); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	js, _ := json.Marshal(tree)
	sum := sha256.Sum256(js)
	src, err := manifest.GenerateGo(tree, hex.EncodeToString(sum[:]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.MkdirAll(out, 0o755)
	if err := os.WriteFile(filepath.Join(out, "manifest.go"), src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
