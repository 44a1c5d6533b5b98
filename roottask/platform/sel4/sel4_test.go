package sel4

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/cohesix/cohesix/roottask/platform"
)

func TestIdleListenerAcceptsNothingUntilClosed(t *testing.T) {
	l, err := Platform{}.Listen("127.0.0.1:31337")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Addr().String(); got != "127.0.0.1:31337" {
		t.Fatalf("Addr = %q", got)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Accept returned before Close: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

func TestListenBadAddress(t *testing.T) {
	if _, err := (Platform{}).Listen("no-port"); err == nil {
		t.Fatal("Listen accepted an address without a port")
	}
}

func TestClockNameOffSeL4(t *testing.T) {
	// Hosted Linux answers the private syscall with ENOSYS.
	if got := ClockName(); got != "unknown" {
		t.Fatalf("ClockName = %q off seL4", got)
	}
}

func TestStorageInMemoryOnly(t *testing.T) {
	if s, err := (Platform{}).Storage(""); err != nil || s.Dir != "" {
		t.Fatalf("Storage(\"\") = %+v, %v; want in memory", s, err)
	}
	if _, err := (Platform{}).Storage("/state"); !errors.Is(err, platform.ErrNoStorage) {
		t.Fatalf("Storage(/state) err = %v; want ErrNoStorage", err)
	}
}
