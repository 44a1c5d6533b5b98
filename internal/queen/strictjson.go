package queen

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// checkStrictKeys rejects what encoding/json would silently accept in a
// control line: a key repeated inside one object (json keeps the last, so
// `{"kill":"a","kill":"b"}` would kill b) and keys that are not lower-case
// ASCII (json matches struct fields case-insensitively, so `{"KILL":"a"}`
// would be read as kill). Every control schema uses lower-case keys.
func checkStrictKeys(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // next string token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				if top != nil && top.object {
					top.expect = true
				}
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			case '[':
				if top != nil && top.object {
					top.expect = true
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.expect {
			key, _ := tok.(string)
			if top.keys[key] {
				return errors.New("duplicate key " + key)
			}
			for _, r := range key {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
					return errors.New("key " + key + " is not lower-case")
				}
			}
			top.keys[key] = true
			top.expect = false
		} else {
			top.expect = true
		}
	}
}
