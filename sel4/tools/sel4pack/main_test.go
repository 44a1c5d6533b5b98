package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"math/rand"
	"os"
	"testing"
)

// TestRoundTrip: every block decodes back to the bytes it was made from,
// for inputs with long runs, no repeats, and overlapping matches.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	noise := make([]byte, 70000)
	r.Read(noise)
	cases := [][]byte{
		nil, []byte("a"), []byte("abcd"), bytes.Repeat([]byte("x"), 100000),
		bytes.Repeat([]byte("abcdefg"), 5000), noise,
		append(append([]byte{}, noise[:30000]...), noise[:30000]...),
	}
	for i, c := range cases {
		got, err := decompress(compress(c), len(c))
		if err != nil || !bytes.Equal(got, c) {
			t.Fatalf("case %d: round trip failed: %v", i, err)
		}
	}
}

// TestRejectsCorrupt: a wrong length, a zero or too-far offset and a
// truncated block are refused, never decoded into something else.
func TestRejectsCorrupt(t *testing.T) {
	src := bytes.Repeat([]byte("hello, seL4 "), 200)
	c := compress(src)
	if _, err := decompress(c, len(src)-1); err == nil {
		t.Fatal("short output accepted")
	}
	if _, err := decompress(c[:len(c)-3], len(src)); err == nil {
		t.Fatal("truncated block accepted")
	}
	if _, err := decompress([]byte{0x10, 'a', 0, 0}, 5); err == nil {
		t.Fatal("zero offset accepted")
	}
	if _, err := decompress([]byte{0x10, 'a', 9, 0}, 5); err == nil {
		t.Fatal("offset before the start accepted")
	}
}

// TestPackSelf packs this test binary when it is an ELF and checks every
// PT_LOAD decodes to the file bytes the shim would have copied.
func TestPackSelf(t *testing.T) {
	exe, _ := os.Executable()
	raw, err := os.ReadFile(exe)
	if err != nil || !bytes.HasPrefix(raw, []byte("\x7fELF")) {
		t.Skip("test binary is not an ELF")
	}
	f, _ := elf.NewFile(bytes.NewReader(raw))
	if f.Machine != elf.EM_AARCH64 {
		// Pack refuses anything but aarch64; check that, then rewrite the
		// machine field to exercise the layout on this host's binary.
		if _, err := pack(raw); err == nil {
			t.Fatal("non-aarch64 ELF accepted")
		}
		raw = append([]byte{}, raw...)
		binary.LittleEndian.PutUint16(raw[18:], uint16(elf.EM_AARCH64))
	}
	p, err := pack(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(p, []byte(Magic)) {
		t.Fatal("no magic")
	}
	hdrlen := binary.LittleEndian.Uint64(p[8:])
	if !bytes.Equal(p[16:16+hdrlen], raw[:hdrlen]) {
		t.Fatal("headers not kept raw")
	}
	at := 16 + hdrlen
	for _, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD {
			continue
		}
		clen := binary.LittleEndian.Uint64(p[at:])
		got, err := decompress(p[at+8:at+8+clen], int(ph.Filesz))
		if err != nil || !bytes.Equal(got, raw[ph.Off:ph.Off+ph.Filesz]) {
			t.Fatalf("segment at %#x: %v", ph.Vaddr, err)
		}
		at += 8 + clen
	}
	if at != uint64(len(p)) {
		t.Fatalf("%d trailing bytes", uint64(len(p))-at)
	}
}

// FuzzDecompress: the decoder never panics or overruns on any block, and
// whatever it accepts re-encodes to a block that decodes to the same bytes.
func FuzzDecompress(f *testing.F) {
	f.Add(compress([]byte("hello hello hello hello")), 23)
	f.Add([]byte{0xf0, 0x00}, 15)
	f.Add([]byte{0x1f, 'a', 1, 0, 255, 3}, 280)
	f.Fuzz(func(t *testing.T, src []byte, n int) {
		if n < 0 || n > 1<<20 {
			return
		}
		out, err := decompress(src, n)
		if err != nil {
			return
		}
		back, err := decompress(compress(out), len(out))
		if err != nil || !bytes.Equal(back, out) {
			t.Fatal("re-encode mismatch")
		}
	})
}
