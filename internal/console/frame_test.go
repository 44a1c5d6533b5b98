package console

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// rawFrame builds a frame whose header declares total but carries body.
func rawFrame(total uint32, body string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, total)
	return append(b, body...)
}

func TestFrameLengths(t *testing.T) {
	// §1 edge cases. The stream holds the frame under test followed by a
	// good "ping" frame; after auth the reader must resync onto it.
	pad := func(total int) string { return strings.Repeat("p", max(total-4, 0)) }
	rows := []struct {
		name    string
		total   int
		valid   bool
		payload string
	}{
		{"3 below header", 3, false, ""},
		{"4 empty line", 4, true, ""},
		{"5 one byte", 5, true, "p"},
		{"260 payload at line limit", 260, true, pad(260)},
		{"261 payload over line limit", 261, false, ""},
		{"8192 frame max but payload over line", 8192, false, ""},
		{"8193 over frame max", 8193, false, ""},
	}
	for _, r := range rows {
		for _, auth := range []bool{false, true} {
			name := r.name + "/pre-auth"
			if auth {
				name = r.name + "/post-auth"
			}
			t.Run(name, func(t *testing.T) {
				stream := append(rawFrame(uint32(r.total), pad(r.total)), AppendFrame(nil, "ping")...)
				src := bytes.NewReader(stream)
				fr := NewFrameReader(src, lim)
				got, err := fr.Next(auth)
				if r.valid {
					if err != nil || got != r.payload {
						t.Fatalf("Next() = %q, %v; want %q, nil", got, err, r.payload)
					}
				} else {
					if !errors.Is(err, ErrInvalidLength) {
						t.Fatalf("Next() = %q, %v; want ErrInvalidLength", got, err)
					}
					if !auth {
						if consumed := len(stream) - src.Len(); consumed != 4 {
							t.Errorf("pre-auth reader consumed %d bytes; want 4 (header only)", consumed)
						}
						return
					}
				}
				if got, err := fr.Next(auth); err != nil || got != "ping" {
					t.Errorf("Next() after frame = %q, %v; want \"ping\", nil", got, err)
				}
				if _, err := fr.Next(auth); err != io.EOF {
					t.Errorf("Next() at end = %v; want io.EOF", err)
				}
			})
		}
	}
}

func TestFrameTruncatedStreams(t *testing.T) {
	rows := []struct {
		name   string
		stream []byte
		auth   bool
		want   []error // errors from successive Next calls
	}{
		{"empty stream", nil, true, []error{io.EOF}},
		{"half header", []byte{5, 0}, true, []error{io.ErrUnexpectedEOF}},
		{"short payload", rawFrame(10, "abc"), true, []error{io.ErrUnexpectedEOF}},
		{"oversize frame cut short post-auth", rawFrame(9000, "abc"), true, []error{ErrInvalidLength, io.ErrUnexpectedEOF, io.ErrUnexpectedEOF}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			fr := NewFrameReader(bytes.NewReader(r.stream), lim)
			for i, want := range r.want {
				if _, err := fr.Next(r.auth); !errors.Is(err, want) {
					t.Errorf("Next() #%d = %v; want %v", i, err, want)
				}
			}
		})
	}
}

func TestAppendFrame(t *testing.T) {
	got := AppendFrame([]byte("x"), "AUTH changeme")
	want := append([]byte("x"), 17, 0, 0, 0)
	want = append(want, "AUTH changeme"...)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendFrame() = %v; want %v", got, want)
	}
}

// countingReader counts bytes handed out.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzFrame(f *testing.F) {
	f.Add(AppendFrame(nil, "AUTH changeme"), false)
	f.Add(AppendFrame(nil, ""), true)
	f.Add(rawFrame(3, "abc"), true)
	f.Add(rawFrame(8193, "abc"), true)
	f.Add(rawFrame(0xffffffff, ""), false)
	f.Fuzz(func(t *testing.T, data []byte, auth bool) {
		cr := &countingReader{r: bytes.NewReader(data)}
		fr := NewFrameReader(cr, lim)
		got, err := fr.Next(auth)
		if len(data) < 4 {
			if err == nil {
				t.Fatalf("Next() on %d bytes = %q, nil; want error", len(data), got)
			}
			return
		}
		total := uint64(binary.LittleEndian.Uint32(data))
		valid := ValidFrameLength(total, lim)
		switch {
		case err == nil:
			if !valid || len(got) != int(total-4) || len(got) > lim.Line {
				t.Fatalf("Next() = %d-byte payload for declared %d; want in-limit frame", len(got), total)
			}
			if got != string(data[4:total]) {
				t.Fatalf("Next() payload mismatch")
			}
		case errors.Is(err, ErrInvalidLength):
			if valid {
				t.Fatalf("Next() = %v for valid length %d", err, total)
			}
		case errors.Is(err, io.ErrUnexpectedEOF):
			if !valid {
				t.Fatalf("Next() = %v for invalid length %d; want ErrInvalidLength", err, total)
			}
		default:
			t.Fatalf("Next() = %v; want nil, ErrInvalidLength or ErrUnexpectedEOF", err)
		}
		limit := uint64(4)
		if valid || auth {
			limit = max(total, 4)
		}
		if uint64(cr.n) > limit {
			t.Fatalf("reader consumed %d bytes; declared frame allows %d", cr.n, limit)
		}
	})
}
