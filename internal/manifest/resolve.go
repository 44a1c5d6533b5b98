package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Tree returns the resolved manifest as plain values keyed by TOML names:
// map[string]any for tables, []any for arrays of tables, []string, string,
// int64, float64 and bool.
func Tree(m *Manifest) map[string]any {
	return treeOf(reflect.ValueOf(m).Elem()).(map[string]any)
}

func treeOf(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Struct:
		out := make(map[string]any, v.NumField())
		for _, k := range keysOf(v.Type()) {
			out[k.name] = treeOf(v.Field(k.index))
		}
		return out
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			s := make([]string, v.Len())
			for i := range s {
				s[i] = v.Index(i).String()
			}
			return s
		}
		s := make([]any, v.Len())
		for i := range s {
			s[i] = treeOf(v.Index(i))
		}
		return s
	case reflect.Int64:
		return v.Int()
	case reflect.Float64:
		return v.Float()
	case reflect.Bool:
		return v.Bool()
	case reflect.String:
		return v.String()
	}
	panic("manifest: unsupported schema kind " + v.Kind().String())
}

// ResolvedJSON renders the canonical resolved manifest: sorted keys, two-space
// indentation, no HTML escaping, trailing newline. Its SHA-256 is the
// manifest hash.
func ResolvedJSON(m *Manifest) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Tree(m)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ResolvedCBOR renders the resolved manifest as deterministic CBOR (RFC 8949
// core deterministic encoding).
func ResolvedCBOR(m *Manifest) ([]byte, error) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return nil, err
	}
	return em.Marshal(Tree(m))
}

// SHA256Hex is the lowercase hex SHA-256 of data.
func SHA256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
