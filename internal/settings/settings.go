// Package settings is milestone 27's A/B settings store: a small sorted
// set of key=value strings kept in the two pages of an abpage.Store, so a
// power cut during an update reads back the old set or the new one, never
// a mixture (DECISIONS P93).
//
// Payload (little-endian): count u16 | count × (klen u16 | key | vlen u16 |
// value), keys strictly ascending bytewise. Keys and values are strict
// UTF-8 with no control characters (a listing prints one key=value per
// line); keys are non-empty and hold no '=' or space. The manifest bounds
// the page (persistence.settings.page_bytes), keys and values
// (max_key_bytes, max_value_bytes).
package settings

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cohesix/cohesix/internal/abpage"
	"github.com/cohesix/cohesix/internal/blockdev"
)

// Magic marks a settings page.
var Magic = [4]byte{'C', 'S', 'E', 'T'}

// Limits bound keys and values (from the manifest).
type Limits struct {
	MaxKeyBytes, MaxValueBytes int
}

// Entry is one setting.
type Entry struct{ Key, Value string }

// Store is an open settings store. One goroutine uses it.
type Store struct {
	pages   *abpage.Store
	lim     Limits
	entries []Entry // sorted by Key
}

// ErrInvalid is a key, value or page the format refuses.
var ErrInvalid = errors.New("settings: invalid")

// Open reads the store on dev. A page that holds a valid abpage but an
// invalid settings payload (a bug or a foreign writer) is an error, not
// an empty set: nothing is silently forgotten.
func Open(dev blockdev.Device, lim Limits) (*Store, error) {
	p, err := abpage.Open(dev, Magic)
	if err != nil {
		return nil, err
	}
	s := &Store{pages: p, lim: lim}
	if p.Generation() > 0 {
		if s.entries, err = Decode(p.Value(), lim); err != nil {
			return nil, fmt.Errorf("settings page %c generation %d: %w", p.Active(), p.Generation(), err)
		}
	}
	return s, nil
}

// Get returns the value of key.
func (s *Store) Get(key string) (string, bool) {
	i, ok := slices.BinarySearchFunc(s.entries, key, func(e Entry, k string) int { return strings.Compare(e.Key, k) })
	if !ok {
		return "", false
	}
	return s.entries[i].Value, true
}

// Entries is every setting, sorted by key (the caller must not modify it).
func (s *Store) Entries() []Entry { return s.entries }

// Generation is the committed generation (0: never written); Active the
// page holding it.
func (s *Store) Generation() uint64 { return s.pages.Generation() }
func (s *Store) Active() byte       { return s.pages.Active() }

// Set sets key to value (Delete removes it); the change is durable when it
// returns nil, and on error the old set is still current.
func (s *Store) Set(key, value string) error {
	return s.Update([]Entry{{key, value}}, nil)
}

// Update sets every entry of set and removes every key of del in one
// commit: durable when it returns nil, and on any error (an invalid entry,
// a set that outgrows the page, a failed write) the old set is still
// current and nothing was written.
func (s *Store) Update(set []Entry, del []string) error {
	next := slices.Clone(s.entries)
	find := func(key string) (int, bool) {
		return slices.BinarySearchFunc(next, key, func(e Entry, k string) int { return strings.Compare(e.Key, k) })
	}
	for _, e := range set {
		if err := s.lim.check(e.Key, e.Value); err != nil {
			return err
		}
		if i, ok := find(e.Key); ok {
			next[i].Value = e.Value
		} else {
			next = slices.Insert(next, i, e)
		}
	}
	for _, k := range del {
		if i, ok := find(k); ok {
			next = slices.Delete(next, i, i+1)
		}
	}
	if slices.Equal(next, s.entries) {
		return nil
	}
	return s.commit(next)
}

// Delete removes key (a missing key is not an error and writes nothing).
func (s *Store) Delete(key string) error { return s.Update(nil, []string{key}) }

func (s *Store) commit(next []Entry) error {
	b := Encode(next)
	if len(b) > s.pages.Capacity() || len(next) > 0xFFFF {
		return fmt.Errorf("%w: %d entries encode to %d bytes, a page holds %d", abpage.ErrTooLarge, len(next), len(b), s.pages.Capacity())
	}
	if err := s.pages.Write(b); err != nil {
		return err
	}
	s.entries = next
	return nil
}

// Encode lays out sorted entries as a page payload.
func Encode(entries []Entry) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(entries)))
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(e.Key)))
		b = append(b, e.Key...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(e.Value)))
		b = append(b, e.Value...)
	}
	return b
}

// Decode parses a page payload strictly: every key and value within lim
// and valid, keys strictly ascending, no trailing bytes.
func Decode(b []byte, lim Limits) ([]Entry, error) {
	field := func() (string, error) {
		if len(b) < 2 {
			return "", fmt.Errorf("%w: truncated", ErrInvalid)
		}
		n := int(binary.LittleEndian.Uint16(b))
		if len(b)-2 < n {
			return "", fmt.Errorf("%w: truncated", ErrInvalid)
		}
		f := string(b[2 : 2+n])
		b = b[2+n:]
		return f, nil
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: truncated", ErrInvalid)
	}
	count := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	var out []Entry
	for range count {
		k, err := field()
		if err != nil {
			return nil, err
		}
		v, err := field()
		if err != nil {
			return nil, err
		}
		if err := lim.check(k, v); err != nil {
			return nil, err
		}
		if len(out) > 0 && out[len(out)-1].Key >= k {
			return nil, fmt.Errorf("%w: key %q out of order", ErrInvalid, k)
		}
		out = append(out, Entry{k, v})
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrInvalid, len(b))
	}
	return out, nil
}

func (lim Limits) check(key, value string) error {
	switch {
	case key == "" || len(key) > lim.MaxKeyBytes:
		return fmt.Errorf("%w: key of %d bytes (1..%d)", ErrInvalid, len(key), lim.MaxKeyBytes)
	case len(value) > lim.MaxValueBytes:
		return fmt.Errorf("%w: value of %d bytes (at most %d)", ErrInvalid, len(value), lim.MaxValueBytes)
	case !text(key) || strings.ContainsAny(key, "= "):
		return fmt.Errorf("%w: key %q", ErrInvalid, key)
	case !text(value):
		return fmt.Errorf("%w: value of key %q is not printable UTF-8", ErrInvalid, key)
	}
	return nil
}

// text is strict UTF-8 without control characters.
func text(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// PageBytes is the page size one entry of a keyBytes key and a valueBytes
// value needs (the manifest compiler checks the configured page holds it).
func PageBytes(keyBytes, valueBytes int) int {
	return abpage.HeaderLen + len(Encode([]Entry{{Key: string(make([]byte, keyBytes)), Value: string(make([]byte, valueBytes))}}))
}
