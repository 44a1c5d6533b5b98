// Command sel4pack compresses the linux/arm64 Go payload the seL4 shim
// embeds, so the bootable image stays under its 8 MiB budget
// (docs/SEL4.md, "Image size"). The shim decompresses each loadable
// segment straight to its link address: no scratch copy of the ELF, no
// extra frames or CNode slots.
//
//	go run ./sel4/tools/sel4pack -in out/sel4/roottask-arm64 -out out/sel4/roottask-arm64.pak
//
// Container (all integers little-endian u64):
//
//	"COHPAK1\0" | hdrlen | ELF header + program headers (hdrlen bytes, raw)
//	then for every PT_LOAD in program-header order: clen | clen bytes of
//	one block that decodes to exactly p_filesz bytes (format in lz.go).
//
// Exit status 1 on any error, 2 on a usage error.
package main

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Magic opens a packed payload; the shim loads a plain ELF when it is absent.
const Magic = "COHPAK1\x00"

func main() {
	in := flag.String("in", "", "linux/arm64 ELF payload")
	out := flag.String("out", "", "packed payload to write")
	flag.Parse()
	if *in == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	raw, err := os.ReadFile(*in)
	if err == nil {
		var packed []byte
		if packed, err = pack(raw); err == nil {
			err = os.WriteFile(*out, packed, 0o644)
			fmt.Printf("sel4pack: %s %d -> %d bytes\n", *out, len(raw), len(packed))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sel4pack:", err)
		os.Exit(1)
	}
}

func u64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// pack builds the container from an aarch64 ELF image.
func pack(raw []byte) ([]byte, error) {
	f, err := elf.NewFile(bytesReaderAt(raw))
	if err != nil {
		return nil, err
	}
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
		return nil, errors.New("payload is not an aarch64 ELF64")
	}
	phoff := binary.LittleEndian.Uint64(raw[32:])
	phentsize := uint64(binary.LittleEndian.Uint16(raw[54:]))
	hdrlen := phoff + phentsize*uint64(len(f.Progs))
	if hdrlen > uint64(len(raw)) {
		return nil, errors.New("program headers run past the file")
	}
	out := u64([]byte(Magic), hdrlen)
	out = append(out, raw[:hdrlen]...)
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if p.Off+p.Filesz > uint64(len(raw)) {
			return nil, errors.New("segment runs past the file")
		}
		c := compress(raw[p.Off : p.Off+p.Filesz])
		out = u64(out, uint64(len(c)))
		out = append(out, c...)
	}
	return out, nil
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
