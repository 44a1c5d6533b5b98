package ticket

import (
	"go/build"
	"strings"
	"testing"
)

// TestOSFree holds the package doc's promise: no OS package is imported
// by non-test files (STYLE §7, dependency tests for OS-free packages).
func TestOSFree(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatalf("build.ImportDir(.) = %v", err)
	}
	forbidden := []string{"os", "net", "syscall", "time", "unsafe", "github.com/cohesix/cohesix/internal/queen"}
	for _, imp := range pkg.Imports {
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("non-test files import %q; the ticket package must stay OS-free", imp)
			}
		}
	}
	if len(pkg.Imports) == 0 {
		t.Errorf("build.ImportDir(.).Imports is empty; want the package's imports")
	}
}
