package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/roottask/platform"
)

// productionProfile is manifest.ProductionProfile, named here so the root
// task does not link the manifest compiler (and its TOML parser) into the
// seL4 image.
const productionProfile = "production"

// bootFlags are the command line's choices for boot.
type bootFlags struct {
	consoleAddr, ninepAddr string
	serial                 bool   // serve the console on the platform's serial line
	stateDir               string // --state-dir, for the platform's Storage
	profile                string // --profile: hive.ProfileDev or hive.ProfileGoverned (DECISIONS P26)
	casRootKey             []byte // --cas-root-key: the Ed25519 key trusted for /updates (DECISIONS P49)
}

// run boots the hive on p (newPlatform: platform_hosted.go, or
// platform_sel4.go with -tags cohesix_sel4) and serves until ctx ends.
func run(ctx context.Context, p platform.Platform, args []string) int {
	stderr := p.Serial().Err
	fs := flag.NewFlagSet("roottask", flag.ContinueOnError)
	fs.SetOutput(stderr)
	consoleAddr := fs.String("console-listen", generated.NetworkConsoleListen, "TCP console listen address")
	ninepAddr := fs.String("secure9p-listen", generated.NetworkSecure9pListen, "Secure9P listen address")
	serial := fs.String("serial", "stdio", "serial console: stdio or none")
	stateDir := fs.String("state-dir", "", "directory for the durable spools: /log/queen.log, audit journal, approvals, lifecycle, worker ids and telemetry segments survive kill -9 and restart; '' (the default here; make run passes .cohesix/state) keeps everything in memory")
	profile := fs.String("profile", hive.ProfileDev, "dev: the compiled manifest as it is; governed: the same with PolicyFS, AuditFS and ReplayFS on (DECISIONS P26), for tests, demos and operators who want policy gating on a hosted hive")
	casRootKey := fs.String("cas-root-key", generated.CasSigningKeyPath, "file holding the hex Ed25519 public key trusted to sign /updates manifests and keysets (cas-tool keygen writes KEY.pub); '' trusts none, and signed uploads are refused reason=signing-key-missing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*serial != "stdio" && *serial != "none") || (*profile != hive.ProfileDev && *profile != hive.ProfileGoverned) {
		fmt.Fprintln(stderr, "Usage: roottask [--console-listen ADDR] [--secure9p-listen ADDR] [--serial stdio|none] [--state-dir DIR] [--profile dev|governed] [--cas-root-key KEY.pub]")
		return 2
	}
	var rootKey []byte
	if generated.ProfileName == productionProfile && strings.Contains(filepath.ToSlash(*casRootKey), "fixtures/") {
		fmt.Fprintf(stderr, "roottask: --cas-root-key %s is a fixture key, refused by the production profile (DECISIONS D10): name the fleet's root key\n", *casRootKey)
		return 2
	}
	switch {
	case *casRootKey != "":
		pub, err := hive.ReadCASRootKey(*casRootKey)
		if err != nil {
			fmt.Fprintf(stderr, "roottask: --cas-root-key %s: %v (name the KEY.pub that cas-tool keygen wrote)\n", *casRootKey, err)
			return 2
		}
		rootKey = pub
	case generated.CasSigningRootKey != "":
		// The key written into the manifest, compiled into the image (the
		// seL4 root task has no file to read; DECISIONS P68). coh-rtc
		// checked it is a hex Ed25519 key.
		rootKey, _ = hex.DecodeString(generated.CasSigningRootKey)
	}
	return boot(ctx, p, bootFlags{consoleAddr: *consoleAddr, ninepAddr: *ninepAddr, serial: *serial == "stdio", stateDir: *stateDir, profile: *profile, casRootKey: rootKey})
}

// boot is the platform-independent boot sequence: banner, hive, listeners,
// consoles. Everything it takes from the host comes from p.
func boot(ctx context.Context, p platform.Platform, f bootFlags) int {
	tty := p.Serial()
	stdout, stderr := tty.Out, tty.Err
	fmt.Fprintf(stdout, "Cohesix root task (%s) manifest.sha256=%s profile=%s\n", p.Name(), generated.ManifestSHA256, profileName(f.profile))
	store, err := p.Storage(f.stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "roottask: state dir %s: %v\n", f.stateDir, err)
		return 1
	}
	fmt.Fprintln(stdout, stateBanner(store))
	noEntropy := platform.CheckEntropy(p.Entropy())
	if noEntropy != nil {
		// Said once at boot; each refused ticket is audited by the door.
		fmt.Fprintf(stdout, "[event] entropy none: %v: tickets are refused (reason=policy detail=no-entropy)\n", noEntropy)
	}
	ticks, stopTicks := heartbeats(p)
	defer stopTicks() // after h.Close: the queen stops reading ticks first
	opts := hive.Options{Clock: p, Ticks: ticks, StateDir: store.Dir, Disk: store.Block, CASRootKey: f.casRootKey, NoEntropy: noEntropy}
	if noEntropy == nil {
		// The spool's format nonce; without entropy the hive falls back to
		// the runtime's generator: the nonce must differ between formats,
		// and forging a record still needs the device's contents.
		opts.Entropy = p.Entropy()
	}
	h, err := hive.New(opts.WithProfile(f.profile))
	if err != nil {
		fmt.Fprintf(stderr, "roottask: %v\n", err)
		return 1
	}
	defer h.Close()
	if store.BlockShown != "" {
		// Whether /proc/spool survives a reboot, and what it recovered.
		fmt.Fprintf(stdout, "[event] spool device=%s %s\n", store.BlockShown, h.SpoolOpened())
	}
	cl, err := p.Listen(f.consoleAddr)
	if err != nil {
		fmt.Fprintf(stderr, "roottask: console listen %s: %v (is another hive running? pass --console-listen 127.0.0.1:0)\n", f.consoleAddr, err)
		return 1
	}
	defer cl.Close()
	nl, err := p.Listen(f.ninepAddr)
	if err != nil {
		fmt.Fprintf(stderr, "roottask: secure9p listen %s: %v (pass --secure9p-listen to choose another address)\n", f.ninepAddr, err)
		return 1
	}
	defer nl.Close()
	fmt.Fprintf(stdout, "[event] console listening tcp=%s\n[event] secure9p listening tcp=%s\n", cl.Addr(), nl.Addr())
	governProcs(ctx, stdout)
	// A listener that stops for good must end the process: a hive that
	// stays up with a dead port is never restarted by its supervisor.
	ended := make(chan error, 2)
	go func() { ended <- listenerEnded("console", h.ServeConsoles(cl)) }()
	go func() { ended <- listenerEnded("secure9p", serve9P(ctx, p, h, nl)) }()
	if f.serial {
		go func() {
			_ = h.ServeSerial(tty.In, stdout, true)
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-ended:
		if ctx.Err() == nil {
			fmt.Fprintf(stderr, "roottask: %v; exiting so that a supervisor restarts the hive\n", err)
			return 1
		}
	}
	fmt.Fprintln(stdout, "[event] shutdown")
	return 0
}

// profileName is the profile the banner names: the compiled manifest's
// own (generated.ProfileName) for the dev profile, which runs it as it is,
// and "governed" for the governed one, which switches governance on.
func profileName(profile string) string {
	if profile == hive.ProfileGoverned {
		return hive.ProfileGoverned
	}
	return generated.ProfileName
}

// heartbeats is the queen's heartbeat ticker at the manifest interval,
// from the platform; none (a nil channel) when the interval is 0.
func heartbeats(p platform.Platform) (<-chan time.Time, func()) {
	ms := queen.Default().HeartbeatIntervalMs
	if ms == 0 {
		return nil, func() {}
	}
	return p.Ticker(time.Duration(ms) * time.Millisecond)
}

// stateBanner names where acknowledged state is kept, so an operator sees
// at boot whether a restart will keep it.
func stateBanner(s platform.Storage) string {
	if s.Dir == "" {
		return "[event] state dir=none mode=in-memory"
	}
	return "[event] state dir=" + s.Shown + " mode=durable"
}

// listenerEnded says why the listener name stopped serving: its accept
// error, or that it was closed under the hive.
func listenerEnded(name string, err error) error {
	if err == nil {
		return fmt.Errorf("%s listener closed", name)
	}
	return fmt.Errorf("%s listener failed: %w", name, err)
}
