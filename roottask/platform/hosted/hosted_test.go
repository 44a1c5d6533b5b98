package hosted

import (
	"path/filepath"
	"testing"
)

func TestStorageShowsTheAbsolutePath(t *testing.T) {
	if s, err := (Platform{}).Storage(""); err != nil || s.Dir != "" {
		t.Fatalf("Storage(\"\") = %+v, %v; want in memory", s, err)
	}
	abs, _ := filepath.Abs("state")
	s, err := Platform{}.Storage("state")
	if err != nil || s.Dir != "state" || s.Shown != abs {
		t.Fatalf("Storage(state) = %+v, %v; want Dir state, Shown %s", s, err, abs)
	}
}

func TestTickerStops(t *testing.T) {
	c, stop := Platform{}.Ticker(1)
	<-c
	stop()
}
