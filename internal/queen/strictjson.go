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
	var stack []*jsonFrame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			stack = top.delim(stack, d)
			continue
		}
		if err := top.token(tok); err != nil {
			return err
		}
	}
}

// jsonFrame is one open object or array while checkStrictKeys walks a line.
type jsonFrame struct {
	object bool
	keys   map[string]bool
	expect bool // next string token in an object is a key
}

// delim opens or closes a frame inside f (nil at the top level) on stack.
func (f *jsonFrame) delim(stack []*jsonFrame, d json.Delim) []*jsonFrame {
	switch d {
	case '{', '[':
		if f != nil && f.object {
			f.expect = true // the object or array is a value: a key comes next
		}
		if d == '[' {
			return append(stack, &jsonFrame{})
		}
		return append(stack, &jsonFrame{object: true, keys: map[string]bool{}, expect: true})
	}
	return stack[:len(stack)-1]
}

// token takes a scalar inside f: a key or value in an object, alternately.
func (f *jsonFrame) token(tok json.Token) error {
	if f == nil || !f.object {
		return nil
	}
	if !f.expect {
		f.expect = true
		return nil
	}
	key, _ := tok.(string)
	if err := strictKey(f.keys, key); err != nil {
		return err
	}
	f.keys[key] = true
	f.expect = false
	return nil
}

// strictKey refuses a key already seen in its object or not lower-case.
func strictKey(seen map[string]bool, key string) error {
	if seen[key] {
		return errors.New("duplicate key " + key)
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return errors.New("key " + key + " is not lower-case")
		}
	}
	return nil
}
