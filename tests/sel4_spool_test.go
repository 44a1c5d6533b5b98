package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/blockspool"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// sel4SpoolDisk creates a zeroed raw disk image the size the manifest
// gives every store on the disk (hive.DiskBlocks; DECISIONS P99, P106):
// the spool's superblock pair and persistence.spool.max_bytes of ring,
// the two settings pages, then persistence.governance_bytes and
// persistence.ingest_bytes, in persistence.block_bytes blocks. The file
// is sparse: the host stores what the guest writes.
func sel4SpoolDisk(t *testing.T, dir, name string) (path string, blocks int64) {
	t.Helper()
	bs := int64(generated.PersistenceBlockBytes)
	blocks = hive.DiskBlocks()
	path = filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(blocks * bs); err != nil {
		t.Fatal(err)
	}
	return path, blocks
}

var sel4SpoolEventRE = regexp.MustCompile(`\[event\] spool device=(\S+) blocks=(\d+) .* records=(\d+) torn=(\S+) open_us=(\d+) settings=(\S+) governance=(\S+) ingest=(\S+)(?: governance_open_us=(\d+))?`)

// sel4SpoolBoot boots the image with virtio-net and the disk as a
// virtio-blk device, attaches the queen on the TCP console and returns
// the console, a stop that kills QEMU, and the spool event line's fields
// (records, torn, open_us, settings binding, where the governance and
// ingest spools live, the governance spool's open time when on the disk).
func sel4SpoolBoot(t *testing.T, img, disk string, blocks int64) (c *client.Conn, stop func(), ev []string) {
	t.Helper()
	c, _, stop, ev = sel4SpoolBoot9P(t, img, disk, blocks)
	return c, stop, ev
}

// sel4SpoolBoot9P is sel4SpoolBoot that also returns the forwarded
// Secure9P port.
func sel4SpoolBoot9P(t *testing.T, img, disk string, blocks int64) (c *client.Conn, ninePort int, stop func(), ev []string) {
	t.Helper()
	port, ninePort, serial, qemu := bootNetVMProc(t, img, sel4DHCPLine, "QEMU_BLK="+disk)
	m := sel4SpoolEventRE.FindStringSubmatch(serial.String())
	if m == nil || m[1] != "virtio-blk" || m[2] != strconv.FormatInt(blocks, 10) {
		t.Fatalf("no spool event line for virtio-blk blocks=%d; serial:\n%s", blocks, serial.String())
	}
	c = dialConsole(t, "127.0.0.1:"+strconv.Itoa(port))
	if got := do(t, c, "attach queen").AckLine(); got != "OK ATTACH role=queen" {
		t.Fatalf("attach: %q", got)
	}
	// A hard stop: QEMU is killed, no shutdown runs in the guest; what
	// an append's OK promised must already be on the disk. Waiting for it
	// releases QEMU's lock on the image before the next boot opens it.
	stop = func() {
		c.Close()
		_ = qemu.Kill()
		_, _ = qemu.Wait()
	}
	return c, ninePort, stop, m[3:]
}

// TestSel4SpoolSurvivesReboot boots seL4 with a raw disk image as
// virtio-blk, appends records through /proc/spool and sets a setting,
// kills QEMU, boots again with the same image and reads the same records
// back with their seqs and the setting with its generation (issue 18 item
// 5); a torn newest record is ignored at the next boot and audited; a
// fresh image boots an empty spool and no settings.
func TestSel4SpoolSurvivesReboot(t *testing.T) {
	img := sel4BuildImage(t, "cohesix_sel4")
	dir := t.TempDir()
	disk, blocks := sel4SpoolDisk(t, dir, "spool.img")
	lines := func(c *client.Conn, line string) []string {
		r := do(t, c, line)
		return append([]string{r.AckLine()}, r.Lines...)
	}

	c, stop, ev := sel4SpoolBoot(t, img, disk, blocks)
	if ev[0] != "0" || ev[1] != "none" || ev[3] != "none" {
		t.Fatalf("fresh disk: spool event records=%s torn=%s settings=%s", ev[0], ev[1], ev[3])
	}
	if got := lines(c, "echo /proc/settings/set site=lab-3")[0]; !strings.HasPrefix(got, "OK ECHO path=/proc/settings/set") {
		t.Fatalf("settings set: %q", got)
	}
	for _, rec := range []string{"reading-001", "reading-002", "reading-003"} {
		if got := lines(c, "echo /proc/spool/append "+rec)[0]; got != "OK ECHO path=/proc/spool/append bytes=11" {
			t.Fatalf("append %s: %q", rec, got)
		}
	}
	if got := lines(c, "echo /proc/spool/ack 1")[0]; !strings.HasPrefix(got, "OK ECHO path=/proc/spool/ack") {
		t.Fatalf("ack: %q", got)
	}
	before := strings.Join(lines(c, "cat /proc/spool/read")[1:], "\n")
	stop()

	c, stop, ev = sel4SpoolBoot(t, img, disk, blocks)
	if ev[0] != "3" || ev[1] != "none" || ev[3] != "match" {
		t.Errorf("after a reboot: spool event records=%s torn=%s settings=%s, want 3 none match", ev[0], ev[1], ev[3])
	}
	if cur := lines(c, "cat /proc/settings/current"); !slices.Contains(cur, "site=lab-3") {
		t.Errorf("settings after a reboot: %q", cur)
	}
	if st := lines(c, "cat /proc/settings/status"); !slices.Contains(st, "generation=1") || !slices.Contains(st, "manifest=match") {
		t.Errorf("settings status after a reboot: %q", st)
	}
	if st := lines(c, "cat /proc/spool/status"); !slices.Contains(st, "records=3") || !slices.Contains(st, "ack_cursor=1") {
		t.Fatalf("status after a reboot: %q", st)
	}
	after := strings.Join(lines(c, "cat /proc/spool/read")[1:], "\n")
	if after != before || !strings.Contains(after, "seq=2 kind=1 ") || !strings.Contains(after, "\nreading-002\n") ||
		!strings.Contains(after, "seq=3 kind=1 ") || !strings.Contains(after, "\nreading-003") || strings.Contains(after, "reading-001") {
		t.Fatalf("read after a reboot:\n%s\nbefore it:\n%s", after, before)
	}
	stop()

	// Tear the newest record (reading-003, ring bytes 96..144 after the
	// superblock pair): its payload loses a byte.
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	bs := int64(generated.PersistenceBlockBytes)
	if _, err := f.WriteAt([]byte{0}, blockspool.SuperBlocks*bs+96+32+4); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c, stop, ev = sel4SpoolBoot(t, img, disk, blocks)
	if ev[0] != "2" || ev[1] != "bad-checksum" {
		t.Errorf("after a torn tail: spool event records=%s torn=%s, want 2 bad-checksum", ev[0], ev[1])
	}
	if log := strings.Join(lines(c, "log"), "\n"); !strings.Contains(log, "spool torn tail ignored records=2 scanned_bytes=96 reason=bad-checksum") {
		t.Errorf("no audit of the torn tail:\n%s", log)
	}
	if got := lines(c, "echo /proc/spool/append reading-004")[0]; got != "OK ECHO path=/proc/spool/append bytes=11" {
		t.Fatalf("append after recovery: %q", got)
	}
	if read := strings.Join(lines(c, "cat /proc/spool/read")[1:], "\n"); !strings.Contains(read, "seq=3 kind=1 ") || !strings.Contains(read, "\nreading-004") || strings.Contains(read, "reading-003") {
		t.Fatalf("read after recovery:\n%s", read)
	}
	stop()

	fresh, _ := sel4SpoolDisk(t, dir, "fresh.img")
	c, stop, ev = sel4SpoolBoot(t, img, fresh, blocks)
	defer stop()
	if st := lines(c, "cat /proc/spool/status"); ev[0] != "0" || ev[3] != "none" || !slices.Contains(st, "records=0") {
		t.Errorf("fresh image: event records=%s settings=%s, status %q", ev[0], ev[3], st)
	}
	if cur := lines(c, "cat /proc/settings/current"); slices.Contains(cur, "site=lab-3") {
		t.Errorf("fresh image: settings %q", cur)
	}
	if read := lines(c, "cat /proc/spool/read"); len(read) != 1 {
		t.Errorf("fresh image: read %q", read)
	}
}

// TestSel4SpoolAppendThroughput is a figure, not a check (docs/BENCHMARKS.md,
// issue 18 item 5): COHESIX_SEL4_SPOOL_BENCH=N appends N records of 100
// bytes through the TCP console, one at a time (each flushed to the disk
// before its OK), then kills QEMU, tears the newest record and boots
// again, logging appends/s, MB/s and the recovery open time.
func TestSel4SpoolAppendThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("COHESIX_SEL4_SPOOL_BENCH"))
	if n <= 0 {
		t.Skip("a figure: COHESIX_SEL4_SPOOL_BENCH=N appends N records")
	}
	img := sel4BuildImage(t, "cohesix_sel4")
	disk, blocks := sel4SpoolDisk(t, t.TempDir(), "spool.img")
	c, ninePort, stop, _ := sel4SpoolBoot9P(t, img, disk, blocks)
	// The console's own round trip, to tell the disk's share from it.
	start := time.Now()
	for i := 0; i < n/10+1; i++ {
		if r := do(t, c, "ping"); !strings.HasPrefix(r.AckLine(), "OK PING") {
			t.Fatalf("ping: %q", r.AckLine())
		}
	}
	t.Logf("console round trip (ping): %.0f µs", float64(time.Since(start).Microseconds())/float64(n/10+1))
	payload := string(bytes.Repeat([]byte{'x'}, 100))
	start = time.Now()
	for i := 0; i < n; i++ {
		if r := do(t, c, "echo /proc/spool/append "+payload); !strings.HasPrefix(r.AckLine(), "OK ECHO") {
			t.Fatalf("append %d: %q", i, r.AckLine())
		}
	}
	took := time.Since(start)
	t.Logf("%d appends of 100 B in %v: %.0f appends/s, %.3f MB/s of payload, %.0f µs each",
		n, took, float64(n)/took.Seconds(), float64(n*100)/took.Seconds()/1e6, float64(took.Microseconds())/float64(n))
	// The same appends pipelined over Secure9P: every Twrite of a batch on
	// the wire at once, so the round trip is paid once per batch and the
	// disk (each append still flushed before its Rwrite) is what shows.
	tok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := nineclient.DialPipeline("127.0.0.1:"+strconv.Itoa(ninePort), tok, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = []byte(payload)
	}
	start = time.Now()
	if _, err := p.Append("/proc/spool/append", 0, recs...); err != nil {
		t.Fatalf("9P pipelined append: %v", err)
	}
	took = time.Since(start)
	p.Close()
	n *= 2
	st := do(t, c, "cat /proc/spool/status")
	stop()
	t.Logf("9P pipelined: %d appends of 100 B in %v: %.0f appends/s, %.3f MB/s of payload, %.0f µs each; status %q",
		n/2, took, float64(n/2)/took.Seconds(), float64(n/2*100)/took.Seconds()/1e6, float64(took.Microseconds())/float64(n/2), st.Lines)

	// Tear the newest record: find the used bytes from the status, flip a
	// payload byte of the last record (records are 136 bytes: a 32-byte
	// header and 100 bytes of payload padded to 8).
	const rec = 136
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	bs := int64(generated.PersistenceBlockBytes)
	if _, err := f.WriteAt([]byte{0}, blockspool.SuperBlocks*bs+int64(n-1)*rec+32+4); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, stop, ev := sel4SpoolBoot(t, img, disk, blocks)
	defer stop()
	if ev[0] != strconv.Itoa(n-1) || ev[1] != "bad-checksum" {
		t.Errorf("recovery: records=%s torn=%s, want %d bad-checksum", ev[0], ev[1], n-1)
	}
	t.Logf("recovery after a torn tail: records=%s torn=%s open_us=%s", ev[0], ev[1], ev[2])
}

// TestSel4GovernanceSurvivesReboot boots seL4 with a disk image as
// virtio-blk (no state directory there): the boot line puts the
// governance and ingest spools on the disk; a worker spawned, a queen log
// line, a lifecycle cordon and a telemetry segment pushed before QEMU is
// killed are all back after the next boot on the same image, and a new
// worker gets a new id (issue 18 item 5, DECISIONS P106).
func TestSel4GovernanceSurvivesReboot(t *testing.T) {
	img := sel4BuildImage(t, "cohesix_sel4")
	disk, blocks := sel4SpoolDisk(t, t.TempDir(), "gov.img")
	lines := func(c *client.Conn, line string) []string {
		r := do(t, c, line)
		return append([]string{r.AckLine()}, r.Lines...)
	}
	ok := func(c *client.Conn, line string) {
		t.Helper()
		if got := lines(c, line)[0]; !strings.HasPrefix(got, "OK ") {
			t.Fatalf("%s: %q", line, got)
		}
	}
	has := func(c *client.Conn, line, want string) {
		t.Helper()
		if out := lines(c, line); !slices.ContainsFunc(out, func(l string) bool { return strings.Contains(l, want) }) {
			t.Errorf("%s after a reboot: %q, want %q in it", line, out, want)
		}
	}

	c, stop, ev := sel4SpoolBoot(t, img, disk, blocks)
	if ev[4] != "disk" || ev[5] != "disk" {
		t.Fatalf("spool event governance=%s ingest=%s, want both on the disk", ev[4], ev[5])
	}
	ok(c, `spawn {"spawn":"heartbeat","ticks":100000}`)
	ok(c, "echo /log/queen.log operator line sel4-disk-1")
	ok(c, `echo /queen/telemetry/dev-a/ctl {"new":"segment","mime":"text/plain"}`)
	ok(c, "echo /queen/telemetry/dev-a/seg/seg-000001 reading-sel4-disk-2")
	ok(c, "echo /queen/lifecycle/ctl cordon")
	workers := lines(c, "ls /worker")
	if !slices.Contains(workers, "worker-1") {
		t.Fatalf("ls /worker: %q", workers)
	}
	stop()

	c, stop, _ = sel4SpoolBoot(t, img, disk, blocks)
	defer stop()
	has(c, "ls /worker", "worker-1")
	has(c, "log", "operator line sel4-disk-1")
	has(c, "cat /queen/telemetry/dev-a/seg/seg-000001", "reading-sel4-disk-2")
	has(c, "cat /proc/lifecycle/state", "state=DRAINING")
	ok(c, "echo /queen/lifecycle/ctl resume")
	ok(c, `spawn {"spawn":"heartbeat","ticks":100000}`)
	if after := lines(c, "ls /worker"); !slices.Contains(after, "worker-1") || !slices.Contains(after, "worker-2") {
		t.Errorf("ls /worker after a reboot and one more spawn: %q, want worker-1 and a new worker-2", after)
	}
}

// TestSel4GovernanceAppendThroughput is a figure, not a check
// (docs/BENCHMARKS.md, issue 18 item 5): COHESIX_SEL4_GOV_BENCH=N writes
// N queen log lines of 100 bytes through the TCP console, one at a time
// (each committed to the governance spool on the disk and flushed before
// its OK), then kills QEMU and boots again, logging the appends/s and the
// governance spool's open time with those records on the disk; N/3 lines
// on a boot without a disk first give the share that is not the disk's.
func TestSel4GovernanceAppendThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("COHESIX_SEL4_GOV_BENCH"))
	if n <= 0 {
		t.Skip("a figure: COHESIX_SEL4_GOV_BENCH=N writes N log lines")
	}
	img := sel4BuildImage(t, "cohesix_sel4")
	line := string(bytes.Repeat([]byte{'g'}, 100))
	logLines := func(c *client.Conn, n int) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			if r := do(t, c, "echo /log/queen.log "+line); !strings.HasPrefix(r.AckLine(), "OK ECHO") {
				t.Fatalf("log line %d: %q", i, r.AckLine())
			}
		}
		return time.Since(start)
	}
	// The same lines without a disk (governance in memory): the console's
	// and the queen's share of a line.
	port, _, _, qemu := bootNetVMProc(t, img, sel4DHCPLine)
	c := dialConsole(t, "127.0.0.1:"+strconv.Itoa(port))
	if got := do(t, c, "attach queen").AckLine(); got != "OK ATTACH role=queen" {
		t.Fatalf("attach: %q", got)
	}
	took := logLines(c, n/3)
	t.Logf("no disk: %d log lines of 100 B in %v: %.0f µs each", n/3, took, float64(took.Microseconds())/float64(n/3))
	c.Close()
	_ = qemu.Kill()
	_, _ = qemu.Wait()

	disk, blocks := sel4SpoolDisk(t, t.TempDir(), "gov.img")
	c, stop, ev := sel4SpoolBoot(t, img, disk, blocks)
	t.Logf("fresh disk: governance_open_us=%s", ev[6])
	start := time.Now()
	for i := 0; i < n/10+1; i++ {
		if r := do(t, c, "ping"); !strings.HasPrefix(r.AckLine(), "OK PING") {
			t.Fatalf("ping: %q", r.AckLine())
		}
	}
	t.Logf("console round trip (ping): %.0f µs", float64(time.Since(start).Microseconds())/float64(n/10+1))
	took = logLines(c, n)
	t.Logf("%d log lines of 100 B in %v: %.0f appends/s, %.0f µs each", n, took, float64(n)/took.Seconds(), float64(took.Microseconds())/float64(n))
	stop()
	_, stop, ev = sel4SpoolBoot(t, img, disk, blocks)
	defer stop()
	t.Logf("reboot: governance=%s governance_open_us=%s", ev[4], ev[6])
}
