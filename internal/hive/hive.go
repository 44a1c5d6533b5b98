// Package hive wires the root task together, independent of the
// platform: it builds the queen, the namespace and its providers, the door
// (internal/gate), the durable stores (internal/store) and both transports
// (internal/transport/consoleserver, internal/transport/secure9p is built
// by roottask) from the generated manifest tables. roottask/ hands it what
// it takes from the platform (hosted sockets and stdio, or seL4).
package hive

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/blockdev"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gate"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov/settingsfs"
	"github.com/cohesix/cohesix/internal/prov/spoolfs"
	"github.com/cohesix/cohesix/internal/queen"
	"github.com/cohesix/cohesix/internal/store"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/cohesix/cohesix/internal/transport/consoleserver"
)

//go:embed selftest/*.coh
var selftests embed.FS

// Clock is the hive's time source.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options adjust a hive; the zero value is the manifest's hive.
type Options struct {
	Clock Clock
	// Queen overrides the queen configuration (tests shorten heartbeats).
	Queen *queen.Config
	// Ticks drives heartbeats; nil means a ticker at the manifest interval.
	Ticks <-chan time.Time
	// StateDir, if set, holds the governance spool: audit journal,
	// decisions, approvals and lifecycle survive a restart (persist.go).
	StateDir string
	// InboundQueueDepth overrides console.inbound_queue_depth, the most
	// requests one TCP console connection may have waiting to run; 0
	// means the manifest's.
	InboundQueueDepth int
	// CASRootKey is the Ed25519 public key trusted to sign update
	// manifests and keysets (roottask --cas-root-key); nil: none, and
	// signed manifests are refused reason=signing-key-missing.
	CASRootKey []byte
	// NoEntropy, when set, is why the platform has no entropy source (it
	// wraps platform.ErrNoEntropy): the door then refuses every ticket on
	// every transport (DECISIONS P73). The ticketless queen attach on the
	// console stays open: it involves no secret.
	NoEntropy error
	// Entropy draws the /proc/spool format's nonce; nil: crypto/rand.
	Entropy io.Reader
	// Disk, when set, is the platform's disk (platform.Storage.Block:
	// seL4's virtio-blk): /proc/spool keeps its records in its first
	// spoolfs.Blocks() blocks and /proc/settings in the settingsfs.Blocks()
	// after them, instead of StateDir's files or memory (DECISIONS P99).
	// Without a StateDir the governance spool and the telemetry ingest
	// spool follow on it (DiskBlocks; DECISIONS P106). The hive closes it.
	Disk blockdev.Device
}

// Hive is one running root task.
type Hive struct {
	q            *queen.Queen
	ns           *gate.Namespace
	door         *gate.Door // every transport's way into ns
	console      *consoleserver.Server
	clock        Clock
	ticketLimits ticket.Limits
	cancel       context.CancelFunc
	done         chan struct{}
	stopTicker   func()
	closeStore   func() error
	spool        *spoolfs.Spool
	settings     *settingsfs.Settings
	stores       string // where governance and ingest live (SpoolOpened)
}

// SpoolOpened says what /proc/spool and /proc/settings found when they
// opened their devices and where the governance and ingest spools live:
// "records=<n> torn=<reason>|none open_us=<µs> settings=<binding>
// governance=<where> ingest=<where>", and on a disk governance_open_us=<µs>
// (the seL4 boot's spool event line; the recovery times are measured from
// it).
func (h *Hive) SpoolOpened() string {
	return h.spool.Opened() + " settings=" + h.settings.Binding() + " " + h.stores
}

// Disk blocks of each store, from the manifest.
var (
	governanceBlocks = int64(generated.PersistenceGovernanceBytes / generated.PersistenceBlockBytes)
	ingestBlocks     = int64(generated.PersistenceIngestBytes / generated.PersistenceBlockBytes)
)

// DiskBlocks is the size of a disk, in persistence.block_bytes blocks,
// that holds every store: /proc/spool, /proc/settings, the governance
// spool and the ingest spool, in that order.
func DiskBlocks() int64 {
	return spoolfs.Blocks() + settingsfs.Blocks() + governanceBlocks + ingestBlocks
}

// diskRegions is the platform's disk cut into its stores' regions.
type diskRegions struct {
	spool, settings, governance, ingest blockdev.Device
}

// splitDisk cuts the platform's disk into /proc/spool's blocks (first:
// the layout of a hosted spool.blk), /proc/settings' after them, then the
// governance spool's and the ingest spool's (DECISIONS P106); nothing for
// no disk. A disk too small for all four, or of another block size, is
// refused with the sizes the manifest gives (P99): an image made before
// the governance spools moved onto the disk is grown with truncate -s,
// which keeps its spool and settings where they are.
func splitDisk(d blockdev.Device) (r diskRegions, err error) {
	if d == nil {
		return r, nil
	}
	sb, tb := spoolfs.Blocks(), settingsfs.Blocks()
	if d.BlockSize() != generated.PersistenceBlockBytes || d.Blocks() < DiskBlocks() {
		d.Close()
		return r, fmt.Errorf("disk: %d blocks of %d bytes; /proc/spool, /proc/settings, the governance and the ingest spools need %d+%d+%d+%d of %d (persistence.block_bytes, spool.max_bytes, settings.page_bytes, governance_bytes, ingest_bytes; truncate -s %d grows an older image keeping its contents)",
			d.Blocks(), d.BlockSize(), sb, tb, governanceBlocks, ingestBlocks, generated.PersistenceBlockBytes, DiskBlocks()*generated.PersistenceBlockBytes)
	}
	return diskRegions{
		spool:      blockdev.Region{D: d, Start: 0, Count: sb},
		settings:   blockdev.Region{D: d, Start: sb, Count: tb},
		governance: blockdev.Region{D: d, Start: sb + tb, Count: governanceBlocks},
		ingest:     blockdev.Region{D: d, Start: sb + tb + governanceBlocks, Count: ingestBlocks},
	}, nil
}

// BootLines is the content of /proc/boot.
func BootLines() []string {
	return []string{
		"Cohesix boot: root-task online",
		"manifest.schema=" + generated.RootTaskSchema,
		"manifest.profile=" + generated.ProfileName,
		"manifest.sha256=" + generated.ManifestSHA256,
		fmt.Sprintf("telemetry.ring_bytes_per_worker=%d", generated.TelemetryRingBytesPerWorker),
		"telemetry.frame_schema=" + generated.TelemetryFrameSchema,
		fmt.Sprintf("event_pump.tick_ms=%d", generated.EventPumpTickMs),
	}
}

// New starts a hive: the queen loop runs until Close.
func New(o Options) (*Hive, error) {
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	cfg := queen.Default()
	if o.Queen != nil {
		cfg = *o.Queen
	}
	cfg.CAS.RootKey = o.CASRootKey
	q := queen.New(cfg, o.Clock, generated.QueenInboxDepth)
	if o.Entropy == nil {
		o.Entropy = rand.Reader
	}
	ds, err := openStores(o, q, cfg.CAS)
	if err != nil {
		return nil, err
	}
	casTrees, sp, st, closeStore := ds.casTrees, ds.spool, ds.settings, ds.close
	nsCfg := gate.DefaultConfig()
	nsCfg.Extra = casTrees
	nsCfg.Spool = sp.Node()
	nsCfg.Settings = st.Node()
	var boot []byte
	for _, l := range BootLines() {
		boot = append(boot, l+"\n"...)
	}
	var tests []gate.Entry
	for _, name := range []string{"selftest_quick.coh", "selftest_full.coh", "selftest_negative.coh"} {
		b, err := selftests.ReadFile("selftest/" + name)
		if err != nil {
			return nil, fmt.Errorf("load self-test %s: %w", name, err)
		}
		tests = append(tests, gate.Entry{Name: name, Node: gate.Content{ReadOnly: gate.ReadOnly{Path: "/proc/tests/" + name}, Render: func() []byte { return b }}})
	}
	h := &Hive{
		q:            q,
		ns:           gate.New(q, nsCfg, boot, tests),
		clock:        o.Clock,
		ticketLimits: ticket.DefaultLimits(),
		done:         make(chan struct{}),
		spool:        sp,
		settings:     st,
		stores:       ds.stores,
		stopTicker:   func() {},
		closeStore:   closeStore,
	}
	h.door = gate.NewDoor(h.ns, gate.DoorConfig{Tickets: generated.Tickets, Limits: h.ticketLimits, Now: o.Clock.Now, NoEntropy: o.NoEntropy})
	h.console = consoleserver.New(consoleserver.Config{Queen: q, Door: h.door, Clock: o.Clock, Limits: console.ManifestLimits(),
		InboundDepth: cmp.Or(o.InboundQueueDepth, generated.ConsoleInboundQueueDepth)})
	h.ns.SetClock(o.Clock.Now)
	ticks := o.Ticks
	if ticks == nil && cfg.HeartbeatIntervalMs > 0 {
		t := time.NewTicker(time.Duration(cfg.HeartbeatIntervalMs) * time.Millisecond)
		ticks, h.stopTicker = t.C, t.Stop
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		q.Run(ctx, ticks)
	}()
	// The boot banner is the first kmesg (spec namespace §11).
	if _, err := q.Do(ctx, queen.TraceEmit{Cat: "kmesg", Level: "info", Lines: BootLines()}); err != nil {
		h.Close()
		return nil, err
	}
	if l := sp.RecoveryLine(); l != "" {
		q.Audit(l)
	}
	for _, l := range []string{sp.BindingLine(), st.BindingLine()} {
		if l != "" {
			q.Audit(l)
		}
	}
	if (o.StateDir != "" || ds.ingestDisk != nil) && cfg.Ingest.Enabled() {
		if err := h.restoreIngest(o.StateDir, ds.ingestDisk, cfg.Ingest); err != nil {
			h.Close()
			return nil, err
		}
	}
	return h, nil
}

// durable is what New opens before the namespace: the governance spool
// under the state directory, the CAS trees, /proc/spool and /proc/settings
// (on the platform's disk, the state directory or memory), and one close
// for all of them, newest first.
type durable struct {
	casTrees []ns.Mounted
	spool    *spoolfs.Spool
	settings *settingsfs.Settings
	// ingestDisk is the ingest spool's region when it lives on the disk.
	ingestDisk blockdev.Device
	stores     string // where governance and ingest live (SpoolOpened)
	close      func() error
}

func openStores(o Options, q *queen.Queen, cas queen.CASConfig) (d durable, err error) {
	var closers []func() error
	d.close = func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	disk, err := splitDisk(o.Disk)
	if err != nil {
		return d, err
	}
	if o.Disk != nil {
		closers = append(closers, o.Disk.Close)
	}
	d.stores = "governance=memory ingest=memory"
	switch {
	case o.StateDir != "":
		gov, err := store.OpenGovernance(q, o.StateDir)
		if err != nil {
			return d, err
		}
		closers = append(closers, gov.Close)
		d.stores = "governance=state-dir ingest=state-dir"
	case o.Disk != nil:
		// seL4: no state dir, the governance state on the disk instead.
		start := time.Now()
		gov, err := store.OpenGovernanceDevice(q, disk.governance)
		if err != nil {
			return d, err
		}
		closers = append(closers, gov.Close)
		d.ingestDisk = disk.ingest
		d.stores = fmt.Sprintf("governance=disk ingest=disk governance_open_us=%d", time.Since(start).Microseconds())
	}
	trees, closeCAS, err := casProviders(q, cas, o.StateDir, o.Clock.Now)
	if err != nil {
		return d, err
	}
	d.casTrees = trees
	closers = append(closers, func() error { closeCAS(); return nil })
	spoolDisk, settingsDisk := disk.spool, disk.settings
	if d.spool, err = spoolfs.Open(spoolfs.Config{Dir: o.StateDir, Device: spoolDisk, Entropy: o.Entropy, Manifest: generated.ManifestSHA256, Now: o.Clock.Now, Audit: q.Audit}); err != nil {
		return d, err
	}
	closers = append(closers, d.spool.Close)
	if d.settings, err = settingsfs.Open(settingsfs.Config{Dir: o.StateDir, Device: settingsDisk, Manifest: generated.ManifestSHA256, Audit: q.Audit}); err != nil {
		return d, err
	}
	closers = append(closers, d.settings.Close)
	return d, nil
}

// Queen returns the hive's authority.
func (h *Hive) Queen() *queen.Queen { return h.q }

// Namespace returns the hive's namespace.
func (h *Hive) Namespace() *gate.Namespace { return h.ns }

// Close stops the queen.
func (h *Hive) Close() error {
	h.cancel()
	h.stopTicker()
	<-h.done
	return h.closeStore()
}

// secret returns the manifest secret for role ("" if none is configured).
func (h *Hive) secret(role ticket.Role) string {
	s, _ := ticket.ManifestSecret(role)
	return s
}

// Door is the hive's one door: the console's and Secure9P's way in.
func (h *Hive) Door() *gate.Door { return h.door }

// Console is the hive's console server (TCP and serial).
func (h *Hive) Console() *consoleserver.Server { return h.console }

// ServeConsoles accepts TCP console clients on l until it is closed
// (consoleserver.Server.ServeConsoles).
func (h *Hive) ServeConsoles(l net.Listener) error { return h.console.ServeConsoles(l) }

// ServeConsole serves one framed TCP console connection, then closes it.
func (h *Hive) ServeConsole(conn net.Conn) { h.console.ServeConsole(conn) }

// SerialPrompt is printed before each serial console line.
const SerialPrompt = consoleserver.SerialPrompt

// ServeSerial serves the newline console on r/w until r ends.
func (h *Hive) ServeSerial(r io.Reader, w io.Writer, prompt bool) error {
	return h.console.ServeSerial(r, w, prompt)
}

// restoreIngest opens dir's ingest spool (DECISIONS D9), or the one on
// the disk region disk when there is no dir, hands the segments it holds
// to the queen before any client is served, and makes the namespace
// record every accepted segment and record in it. The spool is compacted
// when it grows past four times the most that ingest can hold live (every
// device at its byte quota), or half a disk half's room.
func (h *Hive) restoreIngest(dir string, disk blockdev.Device, cfg queen.IngestConfig) error {
	open := store.OpenIngestStore
	if dir == "" {
		open = func(_ string, compactAt int64) (*store.IngestStore, []queen.IngestDevice, string, error) {
			return store.OpenIngestDevice(disk, compactAt)
		}
	}
	st, devices, torn, err := open(dir, 4*int64(cfg.MaxDevices)*int64(cfg.MaxTotalBytes))
	if err != nil {
		return err
	}
	if torn != "" {
		h.q.Audit(torn)
	}
	if len(devices) > 0 {
		if _, err := h.q.Do(context.Background(), queen.IngestRestore{Devices: devices}); err != nil {
			st.Close()
			return fmt.Errorf("restore telemetry ingest: %w", err)
		}
	}
	h.q.UseIngestStore(st) // the queen records every accepted outcome before answering
	prev := h.closeStore
	h.closeStore = func() error { return errors.Join(prev(), st.Close()) }
	return nil
}
