package broker

import (
	"context"
	"errors"
	"testing"
)

func TestDoRunsFn(t *testing.T) {
	b := New(Config{})
	defer b.Close()
	ran := false
	if err := b.Do(context.Background(), Control, "k", func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("Do = %v, ran %v; want nil, true", err, ran)
	}
	want := errors.New("upstream")
	if err := b.Do(context.Background(), Telemetry, "k", func(context.Context) error { return want }); !errors.Is(err, want) {
		t.Fatalf("Do = %v; want %v", err, want)
	}
	s := b.Stats()
	if s.Control.Completed != 1 || s.Telemetry.Failed != 1 {
		t.Fatalf("Stats = %+v; want one control completed, one telemetry failed", s)
	}
}
