package main

import (
	"strings"
	"testing"
)

func TestPatchInsertsMoveBeforeEachSVC(t *testing.T) {
	src := "TEXT ·f(SB),$0\n\tMOVD\t$64, R8\n\tSVC\n\tRET\n// SVC in a comment\n\tSVC\t// trailing\n"
	out, n, err := Patch([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("patched %d sites, want 2", n)
	}
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if strings.TrimSpace(strings.SplitN(l, "//", 2)[0]) == "SVC" {
			if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "MOVD\tR8, R7") {
				t.Fatalf("line %d: SVC not preceded by MOVD R8, R7:\n%s", i+1, out)
			}
		}
	}
}

func TestPatchRejectsUnrecognisedSVC(t *testing.T) {
	for _, src := range []string{"label: SVC\n", "\tNOP; SVC\n"} {
		if _, _, err := Patch([]byte(src)); err == nil {
			t.Errorf("Patch(%q) accepted an SVC it cannot patch safely", src)
		}
	}
}

func TestPatchLeavesOtherFilesAlone(t *testing.T) {
	src := "TEXT ·g(SB),$0\n\tRET\n// no SVC here\n"
	out, n, err := Patch([]byte(src))
	if err != nil || n != 0 || string(out) != src {
		t.Fatalf("Patch changed a file without SVC: n=%d err=%v", n, err)
	}
}
