package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// A REST mount is exclusive per gateway URL (milestone 24e): two FUSE
// mounts appending through one gateway would interleave their echo lines
// unseen by each other. The lock is a host-side file held with flock for
// the mount's lifetime, so it is released when coh exits, however it
// exits.

// mountLockPath is the lock file of url: $XDG_RUNTIME_DIR (else the temp
// directory)/cohesix-rest-mount-<sha256(url) prefix>.lock.
func mountLockPath(url string) string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(dir, "cohesix-rest-mount-"+hex.EncodeToString(sum[:8])+".lock")
}

// errMountLocked means another coh holds the REST mount of the URL.
var errMountLocked = errors.New("another coh mount of this gateway URL is running")

// lockMount takes url's mount lock; release drops it.
func lockMount(url string) (release func(), err error) {
	p := mountLockPath(url)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("mount lock %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (lock %s)", errMountLocked, p)
		}
		return nil, fmt.Errorf("mount lock %s: %w", p, err)
	}
	return func() { f.Close() }, nil
}
