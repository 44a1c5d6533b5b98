package manifest

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
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

// keyed is one integer manifest value and its key path.
type keyed struct {
	key string
	v   int64
}

// positive requires every value to be at least 1.
func (c *checker) positive(fs ...keyed) {
	for _, f := range fs {
		c.min(f.key, f.v, 1)
	}
}

func (c *checker) max(key string, v, n int64) {
	if v > n {
		c.add(key, v, "exceeds the maximum %d", n)
	}
}

func (c *checker) rng(key string, v, lo, hi int64) {
	c.min(key, v, lo)
	c.max(key, v, hi)
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
// sections. raw tells an omitted section from a defaulted one.
func validate(m *Manifest, raw map[string]any, opts Options) []string {
	c := &checker{}
	c.negatives("", reflect.ValueOf(m).Elem())
	checkCore(c, m)
	checkConsole(c, m)
	checkNetwork(c, m)
	checkNamespaces(c, m)
	checkTickets(c, m)
	checkTelemetry(c, m)
	checkLifecycle(c, m)
	checkObservability(c, m)
	checkUIProviders(c, m)
	checkClientPolicies(c, m)
	checkSwarmUI(c, m)
	checkCAS(c, m, raw, opts)
	checkEcosystem(c, m)
	checkSidecars(c, m)
	checkGPU(c, m)
	checkProduction(c, m)
	checkPlaceholders(c, m)
	sort.Strings(c.diags)
	return slices.Compact(c.diags)
}

// negatives refuses every negative integer: no manifest quantity is signed.
func (c *checker) negatives(prefix string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			c.negatives(join(prefix, t.Field(i).Tag.Get("toml")), v.Field(i))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			c.negatives(fmt.Sprintf("%s[%d]", prefix, i), v.Index(i))
		}
	case reflect.Int64:
		if v.Int() < 0 {
			c.add(prefix, v.Int(), "must not be negative")
		}
	case reflect.Float64:
		switch f := v.Float(); {
		case math.IsNaN(f) || math.IsInf(f, 0):
			c.add(prefix, f, "must be a finite number")
		case f < 0:
			c.add(prefix, f, "must not be negative")
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
	c.nonEmpty("profile.name", m.Profile.Name)
	c.min("event_pump.tick_ms", m.EventPump.TickMs, 1)

	s := m.Secure9P
	c.rng("secure9p.msize", s.Msize, 1, maxMsize)
	c.rng("secure9p.walk_depth", s.WalkDepth, 1, maxWalkDepth)
	c.rng("secure9p.walk_component_max_bytes", s.WalkComponentMaxBytes, 1, maxWalkComponentBytes)
	c.rng("secure9p.tags_per_session", s.TagsPerSession, 1, maxTagsPerSession)
	c.min("secure9p.fids_per_session", s.FidsPerSession, 2) // the attach fid and one walk
	c.min("secure9p.batch_frames", s.BatchFrames, 1)
	c.oneOf("secure9p.short_write.policy", s.ShortWrite.Policy, shortWritePolicies)
	if s.ShortWrite.Policy == "retry" {
		c.min("secure9p.short_write.retry_attempts", s.ShortWrite.RetryAttempts, 1)
	}

	sh := m.Sharding
	c.max("sharding.shard_bits", sh.ShardBits, maxShardBits)
	if sh.Enabled && s.WalkDepth < minWalkDepthSharding {
		c.add("secure9p.walk_depth", s.WalkDepth, "is too small: sharding.enabled requires secure9p.walk_depth >= %d", minWalkDepthSharding)
	}
	if sh.LegacyWorkerAlias && s.WalkDepth < minWalkDepthLegacyAlias {
		c.add("secure9p.walk_depth", s.WalkDepth, "is too small: sharding.legacy_worker_alias requires secure9p.walk_depth >= %d", minWalkDepthLegacyAlias)
	}

	if m.Profile.Kernel {
		if m.Features.StdConsole {
			c.add("features.std_console", true, "is not allowed when profile.kernel = true")
		}
		if m.Features.StdHostTools {
			c.add("features.std_host_tools", true, "is not allowed when profile.kernel = true")
		}
	}
	for _, f := range []struct {
		key string
		on  bool
	}{
		{"cache.dma_clean", m.Cache.DMAClean},
		{"cache.dma_invalidate", m.Cache.DMAInvalidate},
		{"cache.unify_instructions", m.Cache.UnifyInstructions},
	} {
		if f.on && !m.Cache.KernelOps {
			c.add(f.key, true, "requires cache.kernel_ops = true")
		}
	}

	q := m.Queen
	c.positive([]keyed{
		{"queen.inbox_depth", q.InboxDepth},
		{"queen.max_workers", q.MaxWorkers},
		{"queen.max_binds_per_session", q.MaxBindsPerSession},
		{"queen.log_ring_lines", q.LogRingLines},
		{"queen.log_line_max_bytes", q.LogLineMaxBytes},
		{"queen.heartbeat_interval_ms", q.HeartbeatIntervalMs},
		{"queen.heartbeat_default_ticks", q.HeartbeatDefaultTicks},
		{"queen.heartbeat_default_ops", q.HeartbeatDefaultOps},
		{"queen.heartbeat_default_ttl_s", q.HeartbeatDefaultTTLS},
		{"queen.gpu_default_ops", q.GPUDefaultOps},
		{"queen.gpu_default_ttl_s", q.GPUDefaultTTLS},
		{"queen.max_sessions", q.MaxSessions},
		{"queen.memory_budget_bytes", q.MemoryBudgetBytes},
		{"queen.fsync_batch_max", q.FsyncBatchMax},
		{"scripts.max_statements", m.Scripts.MaxStatements},
		{"scripts.wait_max_ms", m.Scripts.WaitMaxMs},
		{"scripts.test_timeout_default_s", m.Scripts.TestTimeoutDefaultS},
		{"scripts.test_timeout_max_s", m.Scripts.TestTimeoutMaxS},
		{"scripts.failure_history", m.Scripts.FailureHistory},
	}...)
	if m.Scripts.TestTimeoutDefaultS > m.Scripts.TestTimeoutMaxS {
		c.add("scripts.test_timeout_default_s", m.Scripts.TestTimeoutDefaultS, "exceeds scripts.test_timeout_max_s = %d", m.Scripts.TestTimeoutMaxS)
	}
}

func checkConsole(c *checker, m *Manifest) {
	k := m.Console
	c.min("console.line_max_bytes", k.LineMaxBytes, 1)
	if k.LineMaxBytes > k.FrameMaxBytes-frameHeaderBytes {
		c.add("console.line_max_bytes", k.LineMaxBytes, "exceeds console.frame_max_bytes - %d = %d", frameHeaderBytes, k.FrameMaxBytes-frameHeaderBytes)
	}
	if k.FrameMaxBytes > m.Secure9P.Msize {
		c.add("console.frame_max_bytes", k.FrameMaxBytes, "exceeds secure9p.msize = %d", m.Secure9P.Msize)
	}
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"console.role_max", k.RoleMax},
		{"console.ticket_max", k.TicketMax},
		{"console.path_max", k.PathMax},
		{"console.json_max", k.JSONMax},
		{"console.worker_id_max", k.WorkerIDMax},
		{"console.echo_max", k.EchoMax},
		{"console.b64_line_max", k.B64LineMax},
	} {
		c.min(f.key, f.v, 1)
		if f.v > k.LineMaxBytes {
			c.add(f.key, f.v, "exceeds console.line_max_bytes = %d", k.LineMaxBytes)
		}
	}
	c.min("console.ack_max_bytes", k.AckMaxBytes, 1)
	if k.AckMaxBytes > k.FrameMaxBytes-frameHeaderBytes {
		c.add("console.ack_max_bytes", k.AckMaxBytes, "exceeds console.frame_max_bytes - %d = %d", frameHeaderBytes, k.FrameMaxBytes-frameHeaderBytes)
	}
	c.min("console.cat_summary_max_bytes", k.CatSummaryMaxBytes, 1)
	if k.CatSummaryMaxBytes > k.AckMaxBytes {
		c.add("console.cat_summary_max_bytes", k.CatSummaryMaxBytes, "exceeds console.ack_max_bytes = %d", k.AckMaxBytes)
	}
	c.min("console.cat_summary_line_max_bytes", k.CatSummaryLineMaxBytes, 1)
	if k.CatSummaryLineMaxBytes > k.CatSummaryMaxBytes {
		c.add("console.cat_summary_line_max_bytes", k.CatSummaryLineMaxBytes, "exceeds console.cat_summary_max_bytes = %d", k.CatSummaryMaxBytes)
	}
	c.positive([]keyed{
		{"console.inbound_queue_depth", k.InboundQueueDepth},
		{"console.auth_timeout_ms", k.AuthTimeoutMs},
		{"console.idle_timeout_ms", k.IdleTimeoutMs},
		{"console.attach_backoff_base_ms", k.AttachBackoffBaseMs},
		{"console.attach_lockout_failures", k.AttachLockoutFailures},
		{"console.attach_lockout_window_ms", k.AttachLockoutWindowMs},
		{"console.attach_lockout_cooldown_ms", k.AttachLockoutCooldownMs},
		{"console.cachelog_default", k.CachelogDefault},
	}...)
	c.max("console.attach_backoff_max_exponent", k.AttachBackoffMaxExponent, maxBackoffExponent)
	if k.AuthToken == "" {
		c.add("console.auth_token", secret(k.AuthToken), "must not be empty")
	} else if int64(len("AUTH "+k.AuthToken)) > k.LineMaxBytes {
		c.add("console.auth_token", secret(k.AuthToken), "does not fit an AUTH line of console.line_max_bytes = %d", k.LineMaxBytes)
	}
}

func checkNetwork(c *checker, m *Manifest) {
	for _, f := range []struct{ key, v string }{
		{"network.console_listen", m.Network.ConsoleListen},
		{"network.secure9p_listen", m.Network.Secure9PListen},
	} {
		i := strings.LastIndexByte(f.v, ':')
		host, port := "", ""
		if i >= 0 {
			host, port = f.v[:i], f.v[i+1:]
		}
		if i < 0 || port == "" || strings.ContainsAny(host, " /") ||
			(strings.Contains(host, ":") && !(strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"))) {
			c.add(f.key, f.v, "is not a host:port address")
			continue
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > maxPort || strconv.Itoa(p) != port {
			c.add(f.key, f.v, "has an invalid port (want 0..%d)", maxPort)
		}
	}
	c.rng("network.sel4_console_port", m.Network.Sel4ConsolePort, 1, maxPort)
	c.rng("network.sel4_secure9p_port", m.Network.Sel4Secure9PPort, 1, maxPort)
	n := m.Network
	c.positive([]keyed{
		{"network.max_conns_per_peer", n.MaxConnsPerPeer},
		{"network.handshake_timeout_ms", n.HandshakeTimeoutMs},
		{"network.secure9p_idle_timeout_ms", n.Secure9PIdleTimeoutMs},
		{"network.accept_backoff_max_ms", n.AcceptBackoffMaxMs},
		{"network.peer_table_max", n.PeerTableMax},
		{"network.audit_summary_window_ms", n.AuditSummaryWindowMs},
	}...)
}

func checkNamespaces(c *checker, m *Manifest) {
	seen := map[string]int{}
	for i, mt := range m.Namespaces.Mounts {
		key := fmt.Sprintf("namespaces.mounts[%d]", i)
		c.nonEmpty(key+".service", mt.Service)
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
		if j, dup := seen[p]; dup {
			c.add(key+".target", t, "duplicates namespaces.mounts[%d].target", j)
		} else {
			seen[p] = i
		}
	}
}

func checkTickets(c *checker, m *Manifest) {
	seen := map[Ticket]int{}
	for i, t := range m.Tickets {
		key := fmt.Sprintf("tickets[%d]", i)
		c.oneOf(key+".role", t.Role, ticketRoles)
		switch {
		case t.Secret == "":
			c.add(key+".secret", secret(t.Secret), "must not be empty")
		case len(t.Secret) > maxTicketSecretBytes:
			c.add(key+".secret", secret(t.Secret), "is %d bytes, more than the maximum %d", len(t.Secret), maxTicketSecretBytes)
		}
		if j, dup := seen[t]; dup {
			c.add(key+".secret", secret(t.Secret), "duplicates the (role, secret) pair of tickets[%d]", j)
		} else {
			seen[t] = i
		}
	}
	l := m.TicketLimits
	c.max("ticket_limits.max_scopes", l.MaxScopes, maxTicketScopes)
	c.rng("ticket_limits.max_scope_path_len", l.MaxScopePathLen, 1, maxScopePathLen)
	c.min("ticket_limits.rate_window_ms", l.RateWindowMs, 1)
	c.min("ticket_limits.clock_skew_ms", l.ClockSkewMs, 0)
}

func checkTelemetry(c *checker, m *Manifest) {
	t := m.Telemetry
	c.min("telemetry.ring_bytes_per_worker", t.RingBytesPerWorker, 1)
	if w := m.Queen.MaxWorkers; w > 0 && t.RingBytesPerWorker > eventPumpBudgetBytes/w {
		c.add("telemetry.ring_bytes_per_worker", t.RingBytesPerWorker, "times queen.max_workers = %d is %s bytes, more than the %d-byte event-pump budget", w, mulString(t.RingBytesPerWorker, w), eventPumpBudgetBytes)
	}
	c.oneOf("telemetry.frame_schema", t.FrameSchema, frameSchemas)

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
	if in.MaxTotalBytesPerDevice < in.MaxBytesPerSegment {
		c.add("telemetry_ingest.max_total_bytes_per_device", in.MaxTotalBytesPerDevice, "is below telemetry_ingest.max_bytes_per_segment = %d", in.MaxBytesPerSegment)
	}
	if zeros == 0 {
		c.min("telemetry_ingest.max_record_bytes", in.MaxRecordBytes, 1)
		if in.MaxRecordBytes > in.MaxBytesPerSegment {
			c.add("telemetry_ingest.max_record_bytes", in.MaxRecordBytes, "exceeds telemetry_ingest.max_bytes_per_segment = %d", in.MaxBytesPerSegment)
		}
	}
	c.oneOf("telemetry_ingest.eviction_policy", in.EvictionPolicy, evictionPolicies)
}

func checkLifecycle(c *checker, m *Manifest) {
	l := m.Lifecycle
	c.oneOf("lifecycle.initial_state", l.InitialState, lifecycleStates)
	if n := len(l.AutoTransitions); n > maxAutoTransitions {
		c.add("lifecycle.auto_transitions", fmt.Sprintf("%d entries", n), "exceeds the maximum %d", maxAutoTransitions)
	}
	seen := map[Transition]int{}
	for i, t := range l.AutoTransitions {
		key := fmt.Sprintf("lifecycle.auto_transitions[%d]", i)
		c.oneOf(key+".from", t.From, lifecycleStates)
		c.oneOf(key+".to", t.To, lifecycleStates)
		switch {
		case t.From == t.To:
			c.add(key+".to", t.To, "equals from: a transition must change state")
		case t.From != "BOOTING":
			c.add(key+".from", t.From, "is not allowed: automatic transitions start only from BOOTING")
		case t.To != "ONLINE" && t.To != "DEGRADED":
			c.add(key+".to", t.To, "is not allowed: BOOTING may move automatically only to ONLINE or DEGRADED")
		}
		if j, dup := seen[t]; dup {
			c.add(key, t.From+"->"+t.To, "duplicates lifecycle.auto_transitions[%d]", j)
		} else {
			seen[t] = i
		}
	}
}

// Widths of rendered decimal values, used to size /proc lines.
var (
	u64Max = strconv.FormatUint(^uint64(0), 10)
	u32Max = strconv.FormatUint(uint64(^uint32(0)), 10)
	u16Max = strconv.FormatUint(uint64(^uint16(0)), 10)
	u8Max  = strconv.FormatUint(uint64(^uint8(0)), 10)
)

// minSessionsBytes is the longest /proc/9p/sessions rendering: a header plus
// one "shard <label> <count>" line per shard.
func minSessionsBytes(m *Manifest) int64 {
	n := len("sessions total=" + u64Max + " worker=" + u64Max + " shard_bits=" + u8Max + " shard_count=" + u16Max + "\n")
	if m.Sharding.Enabled && m.Sharding.ShardBits >= 0 && m.Sharding.ShardBits <= maxShardBits {
		shards := 1 << m.Sharding.ShardBits
		label := (int(m.Sharding.ShardBits) + 3) / 4
		if label == 0 {
			label = 1
		}
		n += shards * len("shard "+strings.Repeat("f", label)+" "+u64Max+"\n")
	}
	return int64(n)
}

// watchLine is the longest /proc/ingest/watch line the root task renders:
// a full-width timestamp and counters up to u32 width.
var watchLine = "watch ts_ms=" + u64Max + " p50_ms=" + u32Max + " p95_ms=" + u32Max + " queued=" + u32Max +
	" backpressure=" + u32Max + " dropped=" + u32Max + " ui_reads=" + u32Max + " ui_denies=" + u32Max + "\n"

func checkObservability(c *checker, m *Manifest) {
	o := m.Observability
	owner := "owner=" + strings.Repeat("x", maxIdentityBytes) + "\n"
	nodes := []struct {
		key     string
		v       int64
		longest string
	}{
		{"observability.proc_9p.outstanding_bytes", o.Proc9P.OutstandingBytes, "outstanding current=" + u64Max + " limit=" + u64Max + "\n"},
		{"observability.proc_9p.short_writes_bytes", o.Proc9P.ShortWritesBytes, "short_writes total=" + u64Max + " retries=" + u64Max + "\n"},
		{"observability.proc_9p_session.active_bytes", o.Proc9PSession.ActiveBytes, "active=" + u64Max + " draining=" + u64Max + "\n"},
		{"observability.proc_9p_session.state_bytes", o.Proc9PSession.StateBytes, "state=DRAINING\n"},
		{"observability.proc_9p_session.since_ms_bytes", o.Proc9PSession.SinceMsBytes, "since_ms=" + u64Max + "\n"},
		{"observability.proc_9p_session.owner_bytes", o.Proc9PSession.OwnerBytes, owner},
		{"observability.proc_ingest.p50_ms_bytes", o.ProcIngest.P50MsBytes, "p50_ms=" + u32Max + "\n"},
		{"observability.proc_ingest.p95_ms_bytes", o.ProcIngest.P95MsBytes, "p95_ms=" + u32Max + "\n"},
		{"observability.proc_ingest.backpressure_bytes", o.ProcIngest.BackpressureBytes, "backpressure=" + u64Max + "\n"},
		{"observability.proc_ingest.dropped_bytes", o.ProcIngest.DroppedBytes, "dropped=" + u64Max + "\n"},
		{"observability.proc_ingest.queued_bytes", o.ProcIngest.QueuedBytes, "queued=" + u32Max + "\n"},
		{"observability.proc_ingest.watch_line_bytes", o.ProcIngest.WatchLineBytes, watchLine},
		{"observability.proc_root.reachable_bytes", o.ProcRoot.ReachableBytes, "reachable=yes\n"},
		{"observability.proc_root.last_seen_ms_bytes", o.ProcRoot.LastSeenMsBytes, "last_seen_ms=" + u64Max + "\n"},
		{"observability.proc_root.cut_reason_bytes", o.ProcRoot.CutReasonBytes, "cut_reason=network_unreachable\n"},
		{"observability.proc_pressure.busy_bytes", o.ProcPressure.BusyBytes, "busy=" + u64Max + "\n"},
		{"observability.proc_pressure.quota_bytes", o.ProcPressure.QuotaBytes, "quota=" + u64Max + "\n"},
		{"observability.proc_pressure.cut_bytes", o.ProcPressure.CutBytes, "cut=" + u64Max + "\n"},
		{"observability.proc_pressure.policy_bytes", o.ProcPressure.PolicyBytes, "policy=" + u64Max + "\n"},
		{"observability.proc_schedule.summary_bytes", o.ProcSchedule.SummaryBytes, "queue=" + u64Max + " dequeued=" + u64Max + " dropped=" + u64Max + " max_entries=" + u64Max + "\n"},
		{"observability.proc_schedule.queue_line_bytes", o.ProcSchedule.QueueLineBytes, "id=" + strings.Repeat("w", int(max(m.Console.WorkerIDMax, 0))) + " role=worker-heartbeat priority=0 ticks=" + u64Max + " budget_ms=" + u64Max + " seq=" + u64Max + "\n"},
		{"observability.proc_lease.summary_bytes", o.ProcLease.SummaryBytes, "active=" + u64Max + " preemptions=0 quotas=0 max_active=" + u64Max + "\n"},
		{"observability.proc_lease.active_line_bytes", o.ProcLease.ActiveLineBytes, "id=" + strings.Repeat("w", int(max(m.Console.WorkerIDMax, 0))) + " subject=" + strings.Repeat("w", int(max(m.Console.WorkerIDMax, 0))) + " resource=gpu/" + strings.Repeat("g", int(max(m.GPU.IDMaxBytes, 0))) + " ttl_s=" + u32Max + " priority=255 state=ACTIVE seq=" + u64Max + "\n"},
	}
	c.obsBytes("observability.proc_9p.sessions_bytes", o.Proc9P.SessionsBytes, minSessionsBytes(m))
	for _, n := range nodes {
		c.obsBytes(n.key, n.v, int64(len(n.longest)))
	}
	p := o.ProcIngest
	if p.Watch {
		for _, dep := range []struct {
			key string
			on  bool
		}{
			{"p50_ms", p.P50Ms}, {"p95_ms", p.P95Ms}, {"backpressure", p.Backpressure},
			{"dropped", p.Dropped}, {"queued", p.Queued},
		} {
			if !dep.on {
				c.add("observability.proc_ingest."+dep.key, false, "must be true when observability.proc_ingest.watch = true")
			}
		}
	}
	c.rng("observability.proc_ingest.watch_max_entries", p.WatchMaxEntries, 1, maxWatchEntries)
	c.min("observability.proc_ingest.watch_min_interval_ms", p.WatchMinIntervalMs, 1)
	c.rng("observability.proc_ingest.latency_samples", p.LatencySamples, 1, maxLatencySamples)
	c.rng("observability.proc_schedule.queue_max_entries", o.ProcSchedule.QueueMaxEntries, 1, maxProcListEntries)
	if o.ProcSchedule.QueueMaxEntries >= 1 && o.ProcSchedule.QueueMaxEntries < m.Queen.MaxWorkers {
		c.add("observability.proc_schedule.queue_max_entries", o.ProcSchedule.QueueMaxEntries, "is below queen.max_workers = %d: the queue would hide live workers", m.Queen.MaxWorkers)
	}
	c.rng("observability.proc_lease.active_max_entries", o.ProcLease.ActiveMaxEntries, 1, maxProcListEntries)
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

func checkUIProviders(c *checker, m *Manifest) {
	u, o := m.UIProviders, m.Observability
	deps := []struct {
		key, needKey string
		on, need     bool
	}{
		{"ui_providers.proc_9p.sessions", "observability.proc_9p.sessions", u.Proc9P.Sessions, o.Proc9P.Sessions},
		{"ui_providers.proc_9p.outstanding", "observability.proc_9p.outstanding", u.Proc9P.Outstanding, o.Proc9P.Outstanding},
		{"ui_providers.proc_9p.short_writes", "observability.proc_9p.short_writes", u.Proc9P.ShortWrites, o.Proc9P.ShortWrites},
		{"ui_providers.proc_ingest.p50_ms", "observability.proc_ingest.p50_ms", u.ProcIngest.P50Ms, o.ProcIngest.P50Ms},
		{"ui_providers.proc_ingest.p95_ms", "observability.proc_ingest.p95_ms", u.ProcIngest.P95Ms, o.ProcIngest.P95Ms},
		{"ui_providers.proc_ingest.backpressure", "observability.proc_ingest.backpressure", u.ProcIngest.Backpressure, o.ProcIngest.Backpressure},
		{"ui_providers.policy_preflight.req", "ecosystem.policy.enable", u.PolicyPreflight.Req, m.Ecosystem.Policy.Enable},
		{"ui_providers.policy_preflight.diff", "ecosystem.policy.enable", u.PolicyPreflight.Diff, m.Ecosystem.Policy.Enable},
		{"ui_providers.updates.manifest", "cas.enable", u.Updates.Manifest, m.CAS.Enable},
		{"ui_providers.updates.status", "cas.enable", u.Updates.Status, m.CAS.Enable},
	}
	for _, d := range deps {
		if d.on && !d.need {
			c.add(d.key, true, "requires %s = true", d.needKey)
		}
	}
	if m.CAS.Enable && !u.Updates.Manifest {
		c.add("ui_providers.updates.manifest", false, "must be true when cas.enable = true")
	}
}

func checkClientPolicies(c *checker, m *Manifest) {
	p := m.ClientPolicies
	ones := []struct {
		key string
		v   int64
	}{
		{"client_policies.cohsh.pool.control_sessions", p.Cohsh.Pool.ControlSessions},
		{"client_policies.cohsh.pool.telemetry_sessions", p.Cohsh.Pool.TelemetrySessions},
		{"client_policies.cohsh.tail.poll_ms_min", p.Cohsh.Tail.PollMsMin},
		{"client_policies.cohsh.host_telemetry.nvidia_poll_ms", p.Cohsh.HostTelemetry.NvidiaPollMs},
		{"client_policies.cohsh.host_telemetry.systemd_poll_ms", p.Cohsh.HostTelemetry.SystemdPollMs},
		{"client_policies.cohsh.host_telemetry.docker_poll_ms", p.Cohsh.HostTelemetry.DockerPollMs},
		{"client_policies.cohsh.host_telemetry.k8s_poll_ms", p.Cohsh.HostTelemetry.K8sPollMs},
		{"client_policies.coh.run.lease.max_bytes", p.Coh.Run.Lease.MaxBytes},
		{"client_policies.coh.run.breadcrumb.max_line_bytes", p.Coh.Run.Breadcrumb.MaxLineBytes},
		{"client_policies.coh.run.breadcrumb.max_command_bytes", p.Coh.Run.Breadcrumb.MaxCommandBytes},
		{"client_policies.coh.peft.export.max_telemetry_bytes", p.Coh.Peft.Export.MaxTelemetryBytes},
		{"client_policies.coh.peft.export.max_policy_bytes", p.Coh.Peft.Export.MaxPolicyBytes},
		{"client_policies.coh.peft.export.max_base_model_bytes", p.Coh.Peft.Export.MaxBaseModelBytes},
		{"client_policies.coh.peft.import.max_adapter_bytes", p.Coh.Peft.Import.MaxAdapterBytes},
		{"client_policies.coh.peft.import.max_lora_bytes", p.Coh.Peft.Import.MaxLoraBytes},
		{"client_policies.coh.peft.import.max_metrics_bytes", p.Coh.Peft.Import.MaxMetricsBytes},
		{"client_policies.coh.peft.import.max_manifest_bytes", p.Coh.Peft.Import.MaxManifestBytes},
		{"client_policies.coh.peft.activate.max_model_id_bytes", p.Coh.Peft.Activate.MaxModelIDBytes},
		{"client_policies.coh.peft.activate.max_state_bytes", p.Coh.Peft.Activate.MaxStateBytes},
		{"client_policies.retry.max_attempts", p.Retry.MaxAttempts},
		{"client_policies.retry.backoff_ms", p.Retry.BackoffMs},
		{"client_policies.retry.ceiling_ms", p.Retry.CeilingMs},
		{"client_policies.retry.timeout_ms", p.Retry.TimeoutMs},
		{"client_policies.heartbeat.interval_ms", p.Heartbeat.IntervalMs},
		{"client_policies.trace.max_bytes", p.Trace.MaxBytes},
	}
	for _, f := range ones {
		c.min(f.key, f.v, 1)
	}
	t := p.Cohsh.Tail
	if t.PollMsDefault < t.PollMsMin || t.PollMsDefault > t.PollMsMax {
		c.add("client_policies.cohsh.tail.poll_ms_default", t.PollMsDefault, "is outside [poll_ms_min, poll_ms_max] = [%d, %d]", t.PollMsMin, t.PollMsMax)
	}
	if p.Retry.BackoffMs > p.Retry.CeilingMs {
		c.add("client_policies.retry.backoff_ms", p.Retry.BackoffMs, "exceeds client_policies.retry.ceiling_ms = %d", p.Retry.CeilingMs)
	}
	coh := p.Coh
	c.absPath("client_policies.coh.mount.root", coh.Mount.Root, true)
	switch n := len(coh.Mount.Allowlist); {
	case n == 0:
		c.add("client_policies.coh.mount.allowlist", coh.Mount.Allowlist, "must not be empty")
	case n > maxAllowlistEntries:
		c.add("client_policies.coh.mount.allowlist", fmt.Sprintf("%d entries", n), "exceeds the maximum %d", maxAllowlistEntries)
	}
	for i, a := range coh.Mount.Allowlist {
		c.absPath(fmt.Sprintf("client_policies.coh.mount.allowlist[%d]", i), a, false)
	}
	c.absPath("client_policies.coh.telemetry.root", coh.Telemetry.Root, false)
	c.rng("client_policies.coh.telemetry.max_devices", coh.Telemetry.MaxDevices, 1, maxTelemetryDevices)
	if len(coh.Run.Lease.Schema) == 0 || len(coh.Run.Lease.Schema) > maxLeaseSchemaBytes {
		c.add("client_policies.coh.run.lease.schema", coh.Run.Lease.Schema, "must be 1..%d bytes", maxLeaseSchemaBytes)
	}
	if len(coh.Run.Lease.ActiveState) == 0 || len(coh.Run.Lease.ActiveState) > maxLeaseStateBytes {
		c.add("client_policies.coh.run.lease.active_state", coh.Run.Lease.ActiveState, "must be 1..%d bytes", maxLeaseStateBytes)
	}
	c.nonEmpty("client_policies.coh.run.breadcrumb.schema", coh.Run.Breadcrumb.Schema)
	c.absPath("client_policies.coh.peft.export.root", coh.Peft.Export.Root, false)
	c.nonEmpty("client_policies.coh.peft.import.registry_root", coh.Peft.Import.RegistryRoot)

	c.absPath("client_paths.queen_ctl", m.ClientPaths.QueenCtl, false)
	c.absPath("client_paths.queen_lifecycle_ctl", m.ClientPaths.QueenLifecycleCtl, false)
	c.absPath("client_paths.log", m.ClientPaths.Log, false)
}

func checkSwarmUI(c *checker, m *Manifest) {
	s := m.SwarmUI
	c.nonEmpty("swarmui.ticket_scope", s.TicketScope)
	c.min("swarmui.cache.max_bytes", s.Cache.MaxBytes, 1)
	c.min("swarmui.cache.ttl_s", s.Cache.TTLS, 1)
	h := s.Hive
	c.rng("swarmui.hive.frame_cap_fps", h.FrameCapFps, minHiveFps, maxHiveFps)
	c.min("swarmui.hive.step_ms", h.StepMs, 1)
	if h.LodZoomOut <= 0 || h.LodZoomOut >= 1 {
		c.add("swarmui.hive.lod_zoom_out", h.LodZoomOut, "must lie strictly between 0 and 1")
	}
	if h.LodZoomIn <= h.LodZoomOut {
		c.add("swarmui.hive.lod_zoom_in", h.LodZoomIn, "must exceed swarmui.hive.lod_zoom_out = %s", render(h.LodZoomOut))
	}
	c.min("swarmui.hive.lod_event_budget", h.LodEventBudget, 1)
	c.min("swarmui.hive.snapshot_max_events", h.SnapshotMaxEvents, 1)
	c.min("swarmui.hive.overlay_lines", h.OverlayLines, 1)
	c.min("swarmui.hive.line_cap_bytes", h.LineCapBytes, 1)
	if h.DetailLines < h.OverlayLines {
		c.add("swarmui.hive.detail_lines", h.DetailLines, "is below swarmui.hive.overlay_lines = %d", h.OverlayLines)
	}
	if h.PerWorkerBytes < h.LineCapBytes {
		c.add("swarmui.hive.per_worker_bytes", h.PerWorkerBytes, "is below swarmui.hive.line_cap_bytes = %d", h.LineCapBytes)
	}
	c.absPath("swarmui.paths.telemetry_root", s.Paths.TelemetryRoot, false)
	c.absPath("swarmui.paths.worker_root", s.Paths.WorkerRoot, false)
	c.absPath("swarmui.paths.proc_ingest_root", s.Paths.ProcIngestRoot, false)
	if len(s.Paths.NamespaceRoots) == 0 {
		c.add("swarmui.paths.namespace_roots", s.Paths.NamespaceRoots, "must not be empty")
	}
	for i, r := range s.Paths.NamespaceRoots {
		c.absPath(fmt.Sprintf("swarmui.paths.namespace_roots[%d]", i), r, false)
	}
}

func checkCAS(c *checker, m *Manifest, raw map[string]any, opts Options) {
	k := m.CAS
	c.min("cas.store.chunk_bytes", k.Store.ChunkBytes, 1)
	if k.Store.ChunkBytes > m.Secure9P.Msize {
		c.add("cas.store.chunk_bytes", k.Store.ChunkBytes, "exceeds secure9p.msize = %d", m.Secure9P.Msize)
	}
	if k.Store.ChunkBytes > eventPumpBudgetBytes/casMaxChunks {
		c.add("cas.store.chunk_bytes", k.Store.ChunkBytes, "times %d chunks exceeds the %d-byte event-pump budget", casMaxChunks, eventPumpBudgetBytes)
	}
	if k.Delta.Enable && !k.Enable {
		c.add("cas.delta.enable", true, "requires cas.enable = true")
	}
	if m.Ecosystem.Models.Enable && !k.Enable {
		c.add("ecosystem.models.enable", true, "requires cas.enable = true")
	}
	if !k.Enable {
		return
	}
	if !has(raw, "cas", "signing") {
		c.add("cas.signing", absent{}, "is required when cas.enable = true")
		return
	}
	if !k.Signing.Required {
		return
	}
	if k.Signing.KeyPath == "" {
		c.add("cas.signing.key_path", "", "is required when cas.signing.required = true")
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
	h := m.Ecosystem.Host
	c.absPath("ecosystem.host.mount_at", h.MountAt, false)
	seen := map[string]bool{}
	for i, p := range h.Providers {
		key := fmt.Sprintf("ecosystem.host.providers[%d]", i)
		c.oneOf(key, p, hostProviders)
		if seen[p] {
			c.add(key, p, "is listed twice")
		}
		seen[p] = true
	}
	if h.Enable && !m.Namespaces.RoleIsolation {
		c.add("namespaces.role_isolation", false, "must be true when ecosystem.host.enable = true")
	}

	a := m.Ecosystem.Audit
	if a.ReplayEnable && !a.Enable {
		c.add("ecosystem.audit.replay_enable", true, "requires ecosystem.audit.enable = true")
	}
	c.min("ecosystem.audit.journal_max_bytes", a.JournalMaxBytes, 1)
	c.min("ecosystem.audit.decisions_max_bytes", a.DecisionsMaxBytes, 1)
	c.min("ecosystem.audit.journal_payload_max_bytes", a.JournalPayloadBytes, 1)
	if a.JournalPayloadBytes >= 1 && a.JournalMaxBytes >= 1 && 2*a.JournalPayloadBytes+journalEntryOverhead > a.JournalMaxBytes {
		c.add("ecosystem.audit.journal_payload_max_bytes", a.JournalPayloadBytes, "does not fit ecosystem.audit.journal_max_bytes = %d: an entry needs twice the payload (JSON escaping) plus %d bytes", a.JournalMaxBytes, journalEntryOverhead)
	}
	c.rng("ecosystem.audit.replay_max_entries", a.ReplayMaxEntries, 1, maxReplayEntries)
	c.min("ecosystem.audit.replay_ctl_max_bytes", a.ReplayCtlMaxBytes, 1)
	c.min("ecosystem.audit.replay_status_max_bytes", a.ReplayStatusMaxBytes, 1)

	p := m.Ecosystem.Policy
	c.rng("ecosystem.policy.queue_max_entries", p.QueueMaxEntries, 1, maxPolicyQueueEntries)
	c.min("ecosystem.policy.queue_max_bytes", p.QueueMaxBytes, 1)
	c.min("ecosystem.policy.ctl_max_bytes", p.CtlMaxBytes, 1)
	c.min("ecosystem.policy.status_max_bytes", p.StatusMaxBytes, 1)
	ids := map[string]int{}
	for i, r := range p.Rules {
		key := fmt.Sprintf("ecosystem.policy.rules[%d]", i)
		if r.ID == "" || len(r.ID) > maxPolicyRuleIDBytes {
			c.add(key+".id", r.ID, "must be 1..%d bytes", maxPolicyRuleIDBytes)
		}
		if j, dup := ids[r.ID]; dup {
			c.add(key+".id", r.ID, "duplicates ecosystem.policy.rules[%d].id", j)
		} else {
			ids[r.ID] = i
		}
		c.absPath(key+".target", r.Target, false)
		for _, comp := range strings.Split(r.Target, "/") {
			if strings.Contains(comp, "*") && comp != "*" {
				c.add(key+".target", r.Target, "has a wildcard component that is not exactly \"*\"")
				break
			}
		}
	}
}

func checkSidecars(c *checker, m *Manifest) {
	msize := m.Secure9P.Msize
	for _, bus := range []struct {
		name string
		s    BusSidecar
	}{{"modbus", m.Sidecars.Modbus}, {"dnp3", m.Sidecars.DNP3}} {
		base := "sidecars." + bus.name
		c.absPath(base+".mount_at", bus.s.MountAt, false)
		if bus.s.Enable && len(bus.s.Adapters) == 0 {
			c.add(base+".enable", true, "requires at least one adapter")
		}
		scopes := map[string]int{}
		var mem int64
		for i, a := range bus.s.Adapters {
			key := fmt.Sprintf("%s.adapters[%d]", base, i)
			c.sidecarNames(key, a.ID, a.Mount, a.Scope, scopes, i)
			c.oneOf(key+".link", a.Link, busLinks)
			if a.Link == "serial" {
				c.min(key+".baud", a.Baud, 1)
			}
			c.rng(key+".spool.max_entries", a.Spool.MaxEntries, 1, maxSpoolEntries)
			c.rng(key+".spool.max_bytes", a.Spool.MaxBytes, 1, msize)
			mem += a.Spool.MaxBytes
		}
		if mem > sidecarBudgetBytes {
			c.add(base+".adapters", fmt.Sprintf("%d spool bytes", mem), "exceeds the %d-byte sidecar budget", sidecarBudgetBytes)
		}
	}
	l := m.Sidecars.Lora
	c.absPath("sidecars.lora.mount_at", l.MountAt, false)
	if l.Enable && len(l.Adapters) == 0 {
		c.add("sidecars.lora.enable", true, "requires at least one adapter")
	}
	scopes := map[string]int{}
	var mem int64
	for i, a := range l.Adapters {
		key := fmt.Sprintf("sidecars.lora.adapters[%d]", i)
		c.sidecarNames(key, a.ID, a.Mount, a.Scope, scopes, i)
		c.nonEmpty(key+".region", a.Region)
		c.rng(key+".duty_cycle_percent", a.DutyCyclePercent, 1, maxDutyCyclePercent)
		c.min(key+".window_ms", a.WindowMs, 1)
		c.rng(key+".max_payload_bytes", a.MaxPayloadBytes, 1, msize)
		c.min(key+".tamper_log_max_entries", a.TamperLogMaxEntries, 1)
		mem += a.TamperLogMaxEntries*tamperEntryCostBytes + a.MaxPayloadBytes
	}
	if mem > sidecarBudgetBytes {
		c.add("sidecars.lora.adapters", fmt.Sprintf("%d bytes", mem), "exceeds the %d-byte sidecar budget (tamper entries cost %d bytes each)", sidecarBudgetBytes, tamperEntryCostBytes)
	}
}

func (c *checker) sidecarNames(key, id, mount, scope string, scopes map[string]int, i int) {
	for _, f := range []struct{ k, v string }{{"id", id}, {"mount", mount}, {"scope", scope}} {
		if f.v == "" || len(f.v) > maxSidecarNameBytes || strings.Contains(f.v, "/") || f.v == ".." || f.v == "." {
			c.add(key+"."+f.k, f.v, "must be 1..%d bytes with no \"/\" and not \"..\"", maxSidecarNameBytes)
		}
	}
	if j, dup := scopes[scope]; dup {
		c.add(key+".scope", scope, "duplicates the scope of adapter %d", j)
	} else {
		scopes[scope] = i
	}
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

// mulString multiplies without overflow for display.
func mulString(a, b int64) string {
	return new(big.Int).Mul(big.NewInt(a), big.NewInt(b)).String()
}
