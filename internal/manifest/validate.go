package manifest

import (
	"github.com/cohesix/cohesix/internal/blockspool"
	"github.com/cohesix/cohesix/internal/settings"

	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// checker collects diagnostics of the form "<key.path> = <value> <rule>".
type checker struct {
	diags []string
	root  reflect.Value     // the *Manifest being checked, dereferenced
	lines *strings.Replacer // lineWidths of the manifest, built on first use
}

// at returns the value of another key, for rules that compare keys.
func (c *checker) at(r keyRef) reflect.Value { return c.root.FieldByIndex(r.index) }

func (c *checker) widths() *strings.Replacer {
	if c.lines == nil {
		c.lines = lineWidths(c.root.Addr().Interface().(*Manifest))
	}
	return c.lines
}

// secret marks a value whose text must not appear in diagnostics unless it
// is a known fixture.
type secret string

// absent marks a section or key that the rule needs but the manifest lacks.
type absent struct{}

func render(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case secret:
		if slices.Contains(fixtureSecrets, string(x)) || x == "" {
			return strconv.Quote(string(x))
		}
		return fmt.Sprintf("<secret, %d bytes>", len(x))
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case absent:
		return "(absent)"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func (c *checker) add(key string, val any, format string, args ...any) {
	c.diags = append(c.diags, fmt.Sprintf("%s = %s %s", key, render(val), fmt.Sprintf(format, args...)))
}

func (c *checker) min(key string, v, n int64) {
	if v < n {
		c.add(key, v, "is below the minimum %d", n)
	}
}

func (c *checker) max(key string, v, n int64) {
	if v > n {
		c.add(key, v, "exceeds the maximum %d", n)
	}
}

func (c *checker) oneOf(key, v string, set []string) {
	if !slices.Contains(set, v) {
		c.add(key, v, "is not one of %s", strings.Join(set, "|"))
	}
}

func (c *checker) nonEmpty(key, v string) {
	if v == "" {
		c.add(key, v, "must not be empty")
	}
}

// absPath checks an absolute namespace path: leading '/', no empty or ".."
// components; root only when allowRoot.
func (c *checker) absPath(key, v string, allowRoot bool) {
	switch {
	case !strings.HasPrefix(v, "/"):
		c.add(key, v, "must be an absolute path")
	case v == "/":
		if !allowRoot {
			c.add(key, v, "must not be the root")
		}
	default:
		for _, comp := range strings.Split(v[1:], "/") {
			if comp == "" || comp == ".." || comp == "." {
				c.add(key, v, "must not contain empty, \".\" or \"..\" components")
				return
			}
		}
	}
}

// validate applies every rule of spec/manifest.md and of the Go-port
// sections: first the rules each key declares in its schema tags, then the
// rules that tie keys together. raw tells an omitted section from a
// defaulted one.
func validate(m *Manifest, raw map[string]any, opts Options) []string {
	c := &checker{root: reflect.ValueOf(m).Elem()}
	c.walk("", c.root, nil)
	for _, check := range crossChecks {
		check(c, m)
	}
	checkCAS(c, m, raw, opts)
	sort.Strings(c.diags)
	return slices.Compact(c.diags)
}

// crossChecks are the rules that tie several keys or list entries together,
// beyond what the schema tags say.
var crossChecks = []func(*checker, *Manifest){
	checkCore, checkConsole, checkNamespaces, checkTickets, checkMemoryBudget, checkTelemetry,
	checkLifecycle, checkObservability, checkClientPolicies, checkSwarmUI,
	checkEcosystem, checkSidecars, checkProduction, checkPlaceholders, checkPersistence,
}

// walk applies the tag rules of every key under v (at path p; rules are
// those of the field holding v) and refuses negative numbers everywhere:
// no manifest quantity is signed.
func (c *checker) walk(p string, v reflect.Value, rules []rule) {
	switch v.Kind() {
	case reflect.Struct:
		for _, k := range keysOf(v.Type()) {
			c.walk(join(p, k.name), v.Field(k.index), k.rules)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			c.walk(fmt.Sprintf("%s[%d]", p, i), v.Index(i), rules)
		}
	default:
		c.unsigned(p, v)
		for _, r := range rules {
			r(c, p, v)
		}
	}
}

func (c *checker) unsigned(p string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Int64:
		if v.Int() < 0 {
			c.add(p, v.Int(), "must not be negative")
		}
	case reflect.Float64:
		switch f := v.Float(); {
		case math.IsNaN(f) || math.IsInf(f, 0):
			c.add(p, f, "must be a finite number")
		case f < 0:
			c.add(p, f, "must not be negative")
		}
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func checkCore(c *checker, m *Manifest) {
	if m.RootTask.Schema != SchemaVersion {
		c.add("root_task.schema", m.RootTask.Schema, "is unsupported (expected %s)", SchemaVersion)
	}
	s := m.Secure9P
	if s.ShortWrite.Policy == "retry" {
		c.min("secure9p.short_write.retry_attempts", s.ShortWrite.RetryAttempts, 1)
	}
	sh := m.Sharding
	if sh.Enabled && s.WalkDepth < minWalkDepthSharding {
		c.add("secure9p.walk_depth", s.WalkDepth, "is too small: sharding.enabled requires secure9p.walk_depth >= %d", minWalkDepthSharding)
	}
	if sh.LegacyWorkerAlias && s.WalkDepth < minWalkDepthLegacyAlias {
		c.add("secure9p.walk_depth", s.WalkDepth, "is too small: sharding.legacy_worker_alias requires secure9p.walk_depth >= %d", minWalkDepthLegacyAlias)
	}
}

func checkConsole(c *checker, m *Manifest) {
	k := m.Console
	room := k.FrameMaxBytes - frameHeaderBytes
	for _, f := range []struct {
		key string
		v   int64
	}{{"console.line_max_bytes", k.LineMaxBytes}, {"console.ack_max_bytes", k.AckMaxBytes}} {
		if f.v > room {
			c.add(f.key, f.v, "exceeds console.frame_max_bytes - %d = %d", frameHeaderBytes, room)
		}
	}
	if k.AuthToken == "" {
		c.add("console.auth_token", secret(k.AuthToken), "must not be empty")
	} else if int64(len("AUTH "+k.AuthToken)) > k.LineMaxBytes {
		c.add("console.auth_token", secret(k.AuthToken), "does not fit an AUTH line of console.line_max_bytes = %d", k.LineMaxBytes)
	}
}

// hostPort checks a listen address: host:port with a decimal port.
func (c *checker) hostPort(key, v string) {
	i := strings.LastIndexByte(v, ':')
	host, port := "", ""
	if i >= 0 {
		host, port = v[:i], v[i+1:]
	}
	if i < 0 || port == "" || strings.ContainsAny(host, " /") ||
		(strings.Contains(host, ":") && !(strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"))) {
		c.add(key, v, "is not a host:port address")
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > maxPort || strconv.Itoa(p) != port {
		c.add(key, v, "has an invalid port (want 0..%d)", maxPort)
	}
}

// ipAddr checks one IP address with no port and no zone (a zone names a
// local interface, not a peer the hive can compare against).
func (c *checker) ipAddr(key, v string) {
	if a, err := netip.ParseAddr(v); err != nil || a.Zone() != "" {
		c.add(key, v, "is not an IP address")
	}
}

// ipv4Prefix accepts "" or an IPv4 address with its prefix length, 1..30
// (a host address on a network with room for a gateway).
func (c *checker) ipv4Prefix(key, v string) {
	if v == "" {
		return
	}
	if p, err := netip.ParsePrefix(v); err != nil || !p.Addr().Is4() || p.Bits() < 1 || p.Bits() > 30 {
		c.add(key, v, "is not an IPv4 address with a prefix length 1..30 (10.0.2.15/24)")
	}
}

// ipv4Addr accepts "" or an IPv4 address.
func (c *checker) ipv4Addr(key, v string) {
	if v == "" {
		return
	}
	if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
		c.add(key, v, "is not an IPv4 address")
	}
}

func checkNamespaces(c *checker, m *Manifest) {
	seen := map[string]int{}
	for i, mt := range m.Namespaces.Mounts {
		key := fmt.Sprintf("namespaces.mounts[%d]", i)
		t := mt.Target
		switch {
		case len(t) == 0:
			c.add(key+".target", t, "must have at least one component")
		case len(t) > maxMountComponents:
			c.add(key+".target", t, "has %d components, more than the maximum %d", len(t), maxMountComponents)
		}
		for _, comp := range t {
			if comp == "" || comp == ".." || comp == "." || strings.Contains(comp, "/") {
				c.add(key+".target", t, "must not contain empty, \".\", \"..\" or \"/\" components")
				break
			}
		}
		if len(t) > 0 && t[0] == "worker" && !m.Sharding.LegacyWorkerAlias {
			c.add(key+".target", t, "refers to /worker while sharding.legacy_worker_alias = false")
		}
		p := "/" + strings.Join(t, "/")
		if j, dup := dupOf(seen, p, i); dup {
			c.add(key+".target", t, "duplicates namespaces.mounts[%d].target", j)
		}
	}
}

func checkTickets(c *checker, m *Manifest) {
	seen := map[Ticket]int{}
	for i, t := range m.Tickets {
		key := fmt.Sprintf("tickets[%d]", i)
		switch {
		case t.Secret == "":
			c.add(key+".secret", secret(t.Secret), "must not be empty")
		case len(t.Secret) > maxTicketSecretBytes:
			c.add(key+".secret", secret(t.Secret), "is %d bytes, more than the maximum %d", len(t.Secret), maxTicketSecretBytes)
		}
		if j, dup := dupOf(seen, t, i); dup {
			c.add(key+".secret", secret(t.Secret), "duplicates the (role, secret) pair of tickets[%d]", j)
		}
	}
}

// checkMemoryBudget applies the red lines that grow with the worker count
// (DECISIONS P50). They derive from two budgets of the manifest itself:
// event_pump.memory_budget_bytes (B) holds the telemetry rings, a
// memory-backed CAS store and one rendering of each per-worker /proc list;
// queen.memory_budget_bytes holds B plus every worker's session and records
// at workerCostBytes each. The dev profile's B is 32 KiB, the fixed budget
// these lines had before; a fleet profile raises B and the worker cap
// together, within the absolute ceilings of redlines.go.
func checkMemoryBudget(c *checker, m *Manifest) {
	const key = "event_pump.memory_budget_bytes"
	b := m.EventPump.MemoryBudgetBytes
	w := m.Queen.MaxWorkers
	if b < 1 || w < 1 {
		return // the tags refuse these
	}
	rings := new(big.Int).Mul(big.NewInt(m.Telemetry.RingBytesPerWorker*ringArrayFactor), big.NewInt(w))
	if rings.Cmp(big.NewInt(b)) > 0 {
		c.add("telemetry.ring_bytes_per_worker", m.Telemetry.RingBytesPerWorker, "times %d (a ring's array) times queen.max_workers = %d is %s bytes, more than %s = %d", ringArrayFactor, w, rings, key, b)
	} else if st := m.CAS.Store; st.Backing == "memory" && rings.Int64()+st.BudgetBytes > b {
		c.add("cas.store.budget_bytes", st.BudgetBytes, "plus the telemetry rings (%s bytes) exceeds %s = %d, which a memory-backed store shares (set cas.store.backing = \"disk\" for a state-dir store)", rings, key, b)
	}
	for _, l := range []struct {
		key, lineKey     string
		entries, lineLen int64
	}{
		{"observability.proc_schedule.queue_max_entries", "queue_line_bytes", m.Observability.ProcSchedule.QueueMaxEntries, m.Observability.ProcSchedule.QueueLineBytes},
		{"observability.proc_lease.active_max_entries", "active_line_bytes", m.Observability.ProcLease.ActiveMaxEntries, m.Observability.ProcLease.ActiveLineBytes},
	} {
		if n := new(big.Int).Mul(big.NewInt(l.entries), big.NewInt(l.lineLen)); n.Cmp(big.NewInt(b)) > 0 {
			c.add(l.key, l.entries, "times %s = %d is %s bytes, more than %s = %d", l.lineKey, l.lineLen, n, key, b)
		}
	}
	if s := m.Queen.MaxSessions; s >= 1 && s < w {
		c.add("queen.max_sessions", s, "is below queen.max_workers = %d: attached workers' ticket enforcers would be evicted and their quotas reset", w)
	}
	hive := m.Queen.MemoryBudgetBytes
	if b > hive {
		return // the le tag on the key says so
	}
	if need := new(big.Int).Add(big.NewInt(b), new(big.Int).Mul(big.NewInt(w), big.NewInt(workerCostBytes))); need.Cmp(big.NewInt(hive)) > 0 {
		c.add("queen.max_workers", w, "at %d bytes per attached worker plus %s = %d is %s bytes, more than queen.memory_budget_bytes = %d", workerCostBytes, key, b, need, hive)
	}
}

func checkTelemetry(c *checker, m *Manifest) {
	in := m.TelemetryIngest
	zeros := 0
	for _, v := range []int64{in.MaxSegmentsPerDevice, in.MaxBytesPerSegment, in.MaxTotalBytesPerDevice} {
		if v == 0 {
			zeros++
		}
	}
	if zeros != 0 && zeros != 3 {
		c.add("telemetry_ingest", fmt.Sprintf("%d/%d/%d", in.MaxSegmentsPerDevice, in.MaxBytesPerSegment, in.MaxTotalBytesPerDevice),
			"mixes zero and non-zero quotas: max_segments_per_device, max_bytes_per_segment and max_total_bytes_per_device must be all zero (disabled) or all non-zero")
	}
	if zeros == 0 {
		c.min("telemetry_ingest.max_record_bytes", in.MaxRecordBytes, 1)
		if in.MaxRecordBytes > in.MaxBytesPerSegment {
			c.add("telemetry_ingest.max_record_bytes", in.MaxRecordBytes, "exceeds telemetry_ingest.max_bytes_per_segment = %d", in.MaxBytesPerSegment)
		}
	}
}

func checkLifecycle(c *checker, m *Manifest) {
	l := m.Lifecycle
	if n := len(l.AutoTransitions); n > maxAutoTransitions {
		c.add("lifecycle.auto_transitions", fmt.Sprintf("%d entries", n), "exceeds the maximum %d", maxAutoTransitions)
	}
	seen := map[Transition]int{}
	for i, t := range l.AutoTransitions {
		key := fmt.Sprintf("lifecycle.auto_transitions[%d]", i)
		switch {
		case t.From == t.To:
			c.add(key+".to", t.To, "equals from: a transition must change state")
		case t.From != "BOOTING":
			c.add(key+".from", t.From, "is not allowed: automatic transitions start only from BOOTING")
		case t.To != "ONLINE" && t.To != "DEGRADED":
			c.add(key+".to", t.To, "is not allowed: BOOTING may move automatically only to ONLINE or DEGRADED")
		}
		if j, dup := dupOf(seen, t, i); dup {
			c.add(key, t.From+"->"+t.To, "duplicates lifecycle.auto_transitions[%d]", j)
		}
	}
}

func checkObservability(c *checker, m *Manifest) {
	q := m.Observability.ProcSchedule.QueueMaxEntries
	if q >= 1 && q < m.Queen.MaxWorkers {
		c.add("observability.proc_schedule.queue_max_entries", q, "is below queen.max_workers = %d: the queue would hide live workers", m.Queen.MaxWorkers)
	}
}

func (c *checker) obsBytes(key string, v, need int64) {
	switch {
	case need > maxObservabilityBytes:
		c.add(key, v, "requires at least %d bytes which exceeds max %d", need, maxObservabilityBytes)
	case v < need:
		c.add(key, v, "is below required minimum %d (the longest line it renders)", need)
	case v > maxObservabilityBytes:
		c.add(key, v, "exceeds the maximum %d", maxObservabilityBytes)
	}
}

func checkClientPolicies(c *checker, m *Manifest) {
	t := m.ClientPolicies.Cohsh.Tail
	if t.PollMsDefault < t.PollMsMin || t.PollMsDefault > t.PollMsMax {
		c.add("client_policies.cohsh.tail.poll_ms_default", t.PollMsDefault, "is outside [poll_ms_min, poll_ms_max] = [%d, %d]", t.PollMsMin, t.PollMsMax)
	}
	allow := m.ClientPolicies.Coh.Mount.Allowlist
	switch n := len(allow); {
	case n == 0:
		c.add("client_policies.coh.mount.allowlist", allow, "must not be empty")
	case n > maxAllowlistEntries:
		c.add("client_policies.coh.mount.allowlist", fmt.Sprintf("%d entries", n), "exceeds the maximum %d", maxAllowlistEntries)
	}
}

func checkSwarmUI(c *checker, m *Manifest) {
	h := m.SwarmUI.Hive
	if h.LodZoomOut <= 0 || h.LodZoomOut >= 1 {
		c.add("swarmui.hive.lod_zoom_out", h.LodZoomOut, "must lie strictly between 0 and 1")
	}
	if h.LodZoomIn <= h.LodZoomOut {
		c.add("swarmui.hive.lod_zoom_in", h.LodZoomIn, "must exceed swarmui.hive.lod_zoom_out = %s", render(h.LodZoomOut))
	}
	if roots := m.SwarmUI.Paths.NamespaceRoots; len(roots) == 0 {
		c.add("swarmui.paths.namespace_roots", roots, "must not be empty")
	}
}

func checkCAS(c *checker, m *Manifest, raw map[string]any, opts Options) {
	k := m.CAS
	st := k.Store
	if st.ChunkBytes > 0 && st.MaxChunks > st.BudgetBytes/st.ChunkBytes {
		c.add("cas.store.max_chunks", st.MaxChunks, "times chunk_bytes %d exceeds cas.store.budget_bytes %d: one bundle must fit the store", st.ChunkBytes, st.BudgetBytes)
	}
	if st.Backing == "disk" && st.BudgetBytes > casDiskBudgetBytes {
		c.add("cas.store.budget_bytes", st.BudgetBytes, "exceeds the %d-byte red line of a disk-backed store", int64(casDiskBudgetBytes))
	}
	if !k.Enable {
		return
	}
	if !has(raw, "cas", "signing") {
		c.add("cas.signing", absent{}, "is required when cas.enable = true")
		return
	}
	if rk := k.Signing.RootKey; rk != "" {
		if b, err := hex.DecodeString(rk); err != nil || len(b) != ed25519.PublicKeySize {
			c.add("cas.signing.root_key", rk, "must be a hex Ed25519 public key (64 hex digits)")
		}
	}
	if !k.Signing.Required || (k.Signing.KeyPath == "" && k.Signing.RootKey != "") {
		return
	}
	if k.Signing.KeyPath == "" {
		c.add("cas.signing.key_path", "", "is required when cas.signing.required = true (or write the key itself as cas.signing.root_key)")
		return
	}
	data, err := readRelative(k.Signing.KeyPath, opts)
	if err != nil {
		c.add("cas.signing.key_path", k.Signing.KeyPath, "cannot be read: the signing key file must exist")
		return
	}
	key := strings.TrimSpace(string(data))
	if !utf8.Valid(data) || key == "" {
		c.add("cas.signing.key_path", k.Signing.KeyPath, "must name a non-empty UTF-8 hex file")
		return
	}
	if _, err := hex.DecodeString(key); err != nil {
		c.add("cas.signing.key_path", k.Signing.KeyPath, "does not hold a hex Ed25519 key")
	}
}

func readRelative(p string, opts Options) ([]byte, error) {
	if filepath.IsAbs(p) || len(opts.BaseDirs) == 0 {
		return opts.readFile(p)
	}
	var first error
	for _, dir := range opts.BaseDirs {
		data, err := opts.readFile(filepath.Join(dir, p))
		if err == nil {
			return data, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

func checkEcosystem(c *checker, m *Manifest) {
	seen := map[string]bool{}
	for i, p := range m.Ecosystem.Host.Providers {
		if seen[p] {
			c.add(fmt.Sprintf("ecosystem.host.providers[%d]", i), p, "is listed twice")
		}
		seen[p] = true
	}
	a := m.Ecosystem.Audit
	if a.JournalPayloadBytes >= 1 && a.JournalMaxBytes >= 1 && 2*a.JournalPayloadBytes+journalEntryOverhead > a.JournalMaxBytes {
		c.add("ecosystem.audit.journal_payload_max_bytes", a.JournalPayloadBytes, "does not fit ecosystem.audit.journal_max_bytes = %d: an entry needs twice the payload (JSON escaping) plus %d bytes", a.JournalMaxBytes, journalEntryOverhead)
	}
	ids := map[string]int{}
	for i, r := range m.Ecosystem.Policy.Rules {
		key := fmt.Sprintf("ecosystem.policy.rules[%d]", i)
		if j, dup := dupOf(ids, r.ID, i); dup {
			c.add(key+".id", r.ID, "duplicates ecosystem.policy.rules[%d].id", j)
		}
		for _, comp := range strings.Split(r.Target, "/") {
			if strings.Contains(comp, "*") && comp != "*" {
				c.add(key+".target", r.Target, "has a wildcard component that is not exactly \"*\"")
				break
			}
		}
	}
}

// checkSidecars bounds what the adapters of each sidecar hold in memory
// together; each adapter's own keys are checked by their tags.
func checkSidecars(c *checker, m *Manifest) {
	for _, bus := range []struct {
		name string
		s    BusSidecar
	}{{"modbus", m.Sidecars.Modbus}, {"dnp3", m.Sidecars.DNP3}} {
		base := "sidecars." + bus.name
		c.adapterCount(base, bus.s.Enable, len(bus.s.Adapters))
		scopes := map[string]int{}
		var mem int64
		for i, a := range bus.s.Adapters {
			key := fmt.Sprintf("%s.adapters[%d]", base, i)
			c.uniqueScope(key, a.Scope, scopes, i)
			if a.Link == "serial" {
				c.min(key+".baud", a.Baud, 1)
			}
			mem += a.Spool.MaxBytes
		}
		if mem > sidecarBudgetBytes {
			c.add(base+".adapters", fmt.Sprintf("%d spool bytes", mem), "exceeds the %d-byte sidecar budget", sidecarBudgetBytes)
		}
	}
	l := m.Sidecars.Lora
	c.adapterCount("sidecars.lora", l.Enable, len(l.Adapters))
	scopes := map[string]int{}
	var mem int64
	for i, a := range l.Adapters {
		c.uniqueScope(fmt.Sprintf("sidecars.lora.adapters[%d]", i), a.Scope, scopes, i)
		mem += a.TamperLogMaxEntries*tamperEntryCostBytes + a.MaxPayloadBytes
	}
	if mem > sidecarBudgetBytes {
		c.add("sidecars.lora.adapters", fmt.Sprintf("%d bytes", mem), "exceeds the %d-byte sidecar budget (tamper entries cost %d bytes each)", sidecarBudgetBytes, tamperEntryCostBytes)
	}
}

func (c *checker) adapterCount(base string, enable bool, n int) {
	if enable && n == 0 {
		c.add(base+".enable", true, "requires at least one adapter")
	}
}

func (c *checker) uniqueScope(key, scope string, scopes map[string]int, i int) {
	if j, dup := dupOf(scopes, scope, i); dup {
		c.add(key+".scope", scope, "duplicates the scope of adapter %d", j)
	}
}

// sidecarName checks an adapter id, mount or scope: one path component.
func (c *checker) sidecarName(key, v string) {
	if v == "" || len(v) > maxSidecarNameBytes || strings.Contains(v, "/") || v == ".." || v == "." {
		c.add(key, v, "must be 1..%d bytes with no \"/\" and not \"..\"", maxSidecarNameBytes)
	}
}

// dupOf records entry i under k, or reports the earlier entry j that holds
// the same k.
func dupOf[K comparable](seen map[K]int, k K, i int) (j int, dup bool) {
	if j, dup = seen[k]; !dup {
		seen[k] = i
	}
	return j, dup
}

// checkProduction enforces DECISIONS D10: the production profile refuses
// fixture secrets and runs with audit and PolicyFS on.
func checkProduction(c *checker, m *Manifest) {
	if m.Profile.Name != ProductionProfile {
		return
	}
	for i, t := range m.Tickets {
		if slices.Contains(fixtureSecrets, t.Secret) {
			c.add(fmt.Sprintf("tickets[%d].secret", i), secret(t.Secret), "is a fixture secret, refused by profile.name = \"production\"")
		}
	}
	if slices.Contains(fixtureSecrets, m.Console.AuthToken) {
		c.add("console.auth_token", secret(m.Console.AuthToken), "is a fixture secret, refused by profile.name = \"production\"")
	}
	if strings.Contains(filepath.ToSlash(m.CAS.Signing.KeyPath), "fixtures/") {
		c.add("cas.signing.key_path", m.CAS.Signing.KeyPath, "is a fixture key, refused by profile.name = \"production\"")
	}
	if !m.Ecosystem.Audit.Enable {
		c.add("ecosystem.audit.enable", false, "must be true when profile.name = \"production\" (DECISIONS D10)")
	}
	if !m.Ecosystem.Policy.Enable {
		c.add("ecosystem.policy.enable", false, "must be true when profile.name = \"production\" (DECISIONS D10)")
	}
}

// placeholder marks secrets in configs/root_task.production.toml that an
// operator must replace; no profile accepts them.
const placeholder = "REPLACE-ME"

func checkPlaceholders(c *checker, m *Manifest) {
	for i, t := range m.Tickets {
		if strings.Contains(t.Secret, placeholder) {
			c.add(fmt.Sprintf("tickets[%d].secret", i), t.Secret, "is a placeholder: set a real secret before compiling")
		}
	}
	if strings.Contains(m.Console.AuthToken, placeholder) {
		c.add("console.auth_token", m.Console.AuthToken, "is a placeholder: set a real token before compiling")
	}
	if strings.Contains(m.CAS.Signing.KeyPath, placeholder) {
		c.add("cas.signing.key_path", m.CAS.Signing.KeyPath, "is a placeholder: name the production signing key")
	}
}

// checkPersistence ties the milestone 27 stores to their block size and
// formats: the ring and a settings page are whole blocks, the largest
// record fits the ring with its header, and one key and value of the
// largest sizes fit a page (internal/blockspool, internal/settings).
func checkPersistence(c *checker, m *Manifest) {
	p := m.Persistence
	if p.BlockBytes <= 0 {
		return // the tag rules already refused it
	}
	if p.Spool.MaxBytes%p.BlockBytes != 0 {
		c.add("persistence.spool.max_bytes", p.Spool.MaxBytes, "is not a multiple of persistence.block_bytes = %d", p.BlockBytes)
	}
	if p.Settings.PageBytes%p.BlockBytes != 0 {
		c.add("persistence.settings.page_bytes", p.Settings.PageBytes, "is not a multiple of persistence.block_bytes = %d", p.BlockBytes)
	}
	if need := blockspool.Size(int(p.Spool.MaxRecordBytes)); need > p.Spool.MaxBytes {
		c.add("persistence.spool.max_record_bytes", p.Spool.MaxRecordBytes, "takes %d ring bytes with its header, more than persistence.spool.max_bytes = %d", need, p.Spool.MaxBytes)
	}
	// A device spool's half (internal/spool) is a header block and records:
	// governance compacts at half a half's room of log lines and keeps one
	// ring (JSON-framed, under twice its raw size), so a half holds eight
	// rings; ingest compacts at half the room and keeps what is live
	// (base64 in JSON, under 1.4 times it), so a half holds three times it.
	for _, r := range []struct {
		key        string
		v, need    int64
		what, from string
	}{
		{"persistence.governance_bytes", p.GovernanceBytes, 16 * m.Queen.LogRingLines * m.Queen.LogLineMaxBytes,
			"16 log rings", "queen.log_ring_lines times queen.log_line_max_bytes"},
		{"persistence.ingest_bytes", p.IngestBytes, 6 * m.ClientPolicies.Coh.Telemetry.MaxDevices * m.TelemetryIngest.MaxTotalBytesPerDevice,
			"6 times what ingest holds live", "client_policies.coh.telemetry.max_devices times telemetry_ingest.max_total_bytes_per_device"},
	} {
		if r.v%p.BlockBytes != 0 {
			c.add(r.key, r.v, "is not a multiple of persistence.block_bytes = %d", p.BlockBytes)
		}
		if r.v < r.need+2*p.BlockBytes {
			c.add(r.key, r.v, "is below %d: two header blocks and %s (%s)", r.need+2*p.BlockBytes, r.what, r.from)
		}
	}
	if need := settings.PageBytes(int(p.Settings.MaxKeyBytes), int(p.Settings.MaxValueBytes)); int64(need) > p.Settings.PageBytes {
		c.add("persistence.settings.page_bytes", p.Settings.PageBytes, "cannot hold one %d-byte key with a %d-byte value (%d bytes)", p.Settings.MaxKeyBytes, p.Settings.MaxValueBytes, need)
	}
}
