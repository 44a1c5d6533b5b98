// Package manifest is the root-task manifest compiler behind coh-rtc: it
// decodes configs/root_task.toml strictly, applies defaults, validates every
// rule of spec/manifest.md (plus the Go-port sections) and renders the
// generated Go tables, the resolved JSON/CBOR and the doc snippets.
package manifest

// Manifest is the typed schema of configs/root_task.toml and the manifest's
// one key table: each field declares one key, its TOML (and resolved
// JSON/CBOR) name in the toml tag, its type, its checks and its doc text in
// the rule tags that keys.go reads, and through GoName of its path the
// identifier coh-rtc emits in package generated. Rules that tie several keys
// together in other ways live in validate.go.
type Manifest struct {
	Meta            Meta            `toml:"meta"`
	RootTask        RootTask        `toml:"root_task"`
	Profile         Profile         `toml:"profile"`
	EventPump       EventPump       `toml:"event_pump"`
	Console         Console         `toml:"console"`
	Network         Network         `toml:"network"`
	Queen           Queen           `toml:"queen"`
	Scripts         Scripts         `toml:"scripts"`
	Secure9P        Secure9P        `toml:"secure9p"`
	CAS             CAS             `toml:"cas"`
	Cache           Cache           `toml:"cache"`
	Features        Features        `toml:"features"`
	Namespaces      Namespaces      `toml:"namespaces"`
	Sharding        Sharding        `toml:"sharding"`
	Telemetry       Telemetry       `toml:"telemetry"`
	TelemetryIngest TelemetryIngest `toml:"telemetry_ingest"`
	Lifecycle       Lifecycle       `toml:"lifecycle"`
	Observability   Observability   `toml:"observability"`
	UIProviders     UIProviders     `toml:"ui_providers"`
	ClientPolicies  ClientPolicies  `toml:"client_policies"`
	ClientPaths     ClientPaths     `toml:"client_paths"`
	SwarmUI         SwarmUI         `toml:"swarmui"`
	Gateway         Gateway         `toml:"gateway"`
	TicketLimits    TicketLimits    `toml:"ticket_limits"`
	Tickets         []Ticket        `toml:"tickets"`
	Sidecars        Sidecars        `toml:"sidecars"`
	Ecosystem       Ecosystem       `toml:"ecosystem"`
	GPU             GPU             `toml:"gpu"`
	Persistence     Persistence     `toml:"persistence"`
}

type Meta struct {
	Author  string `toml:"author"`
	Purpose string `toml:"purpose"`
}

type RootTask struct {
	Schema string `toml:"schema"`
}

type Profile struct {
	Name   string `toml:"name" check:"nonempty"`
	Kernel bool   `toml:"kernel"`
}

// EventPump is the root task's event loop. MemoryBudgetBytes (a Go-port
// key, DECISIONS P50) is the memory set aside for what grows with the
// worker count: the telemetry rings, a memory-backed CAS store and one
// rendering of each per-worker /proc list. The red lines that bound those
// keys derive from it (validate.go, checkMemoryBudget) instead of fixed
// constants, so a fleet profile is a manifest, not a compiler change.
//
// The procs_* keys (Go port, DECISIONS P90) size the hosted Go scheduler
// to the hive's CPU use (internal/cpugov): procs_idle processors while the
// hive is quiet (0: the runtime's default, every core, always), every core
// once it is busier than procs_up_permille of them, back after
// procs_down_samples samples below procs_down_permille.
type EventPump struct {
	TickMs            int64 `toml:"tick_ms" min:"1"`
	MemoryBudgetBytes int64 `toml:"memory_budget_bytes" min:"1" max:"maxEventPumpBudgetBytes" le:"queen.memory_budget_bytes"`
	ProcsIdle         int64 `toml:"procs_idle" min:"0"`
	ProcsUpPermille   int64 `toml:"procs_up_permille" min:"1" max:"1000"`
	ProcsDownPermille int64 `toml:"procs_down_permille" min:"1" le:"event_pump.procs_up_permille"`
	ProcsDownSamples  int64 `toml:"procs_down_samples" min:"1"`
	ProcsSampleMs     int64 `toml:"procs_sample_ms" min:"1"`
}

// Console is a Go-port section: console grammar and transport limits
// (spec/console.md §1-§6). The documented keys appear in the console limits
// snippet in this order.
type Console struct {
	LineMaxBytes             int64  `toml:"line_max_bytes" min:"1" doc:"whole line (bytes)"`
	RoleMax                  int64  `toml:"role_max" min:"1" le:"console.line_max_bytes" doc:"role"`
	TicketMax                int64  `toml:"ticket_max" min:"1" le:"console.line_max_bytes" doc:"ticket"`
	PathMax                  int64  `toml:"path_max" min:"1" le:"console.line_max_bytes" doc:"path"`
	JSONMax                  int64  `toml:"json_max" min:"1" le:"console.line_max_bytes" doc:"JSON payload ('spawn')"`
	WorkerIDMax              int64  `toml:"worker_id_max" min:"1" le:"console.line_max_bytes" doc:"worker id ('kill')"`
	EchoMax                  int64  `toml:"echo_max" min:"1" le:"console.line_max_bytes" doc:"echo payload"`
	B64LineMax               int64  `toml:"b64_line_max" min:"1" le:"console.line_max_bytes" doc:"base64 line"`
	AckMaxBytes              int64  `toml:"ack_max_bytes" min:"1" doc:"ACK line (bytes)"`
	CatSummaryMaxBytes       int64  `toml:"cat_summary_max_bytes" min:"1" le:"console.ack_max_bytes" doc:"'cat' summary (bytes)"`
	CatSummaryLineMaxBytes   int64  `toml:"cat_summary_line_max_bytes" min:"1" le:"console.cat_summary_max_bytes" doc:"'cat' summary source line (bytes)"`
	FrameMaxBytes            int64  `toml:"frame_max_bytes" le:"secure9p.msize" doc:"TCP frame incl. 4-byte header (bytes)"`
	InboundQueueDepth        int64  `toml:"inbound_queue_depth" min:"1" doc:"inbound queue depth"`
	AuthToken                string `toml:"auth_token"`
	AuthTimeoutMs            int64  `toml:"auth_timeout_ms" min:"1" doc:"AUTH deadline (ms)"`
	IdleTimeoutMs            int64  `toml:"idle_timeout_ms" min:"1" doc:"idle timeout (ms)"`
	AttachBackoffBaseMs      int64  `toml:"attach_backoff_base_ms" min:"1" doc:"attach backoff base (ms)"`
	AttachBackoffMaxExponent int64  `toml:"attach_backoff_max_exponent" max:"maxBackoffExponent" doc:"attach backoff max exponent"`
	AttachLockoutFailures    int64  `toml:"attach_lockout_failures" min:"1" doc:"attach lockout failures"`
	AttachLockoutWindowMs    int64  `toml:"attach_lockout_window_ms" min:"1" doc:"attach lockout window (ms)"`
	AttachLockoutCooldownMs  int64  `toml:"attach_lockout_cooldown_ms" min:"1" doc:"attach lockout cooldown (ms)"`
	CachelogDefault          int64  `toml:"cachelog_default" min:"1"`
}

// Network is a Go-port section: listener addresses (DECISIONS D5).
type Network struct {
	ConsoleListen    string `toml:"console_listen" check:"hostport" doc:"TCP listener"`
	Secure9PListen   string `toml:"secure9p_listen" check:"hostport"`
	Sel4ConsolePort  int64  `toml:"sel4_console_port" min:"1" max:"maxPort"`
	Sel4Secure9PPort int64  `toml:"sel4_secure9p_port" min:"1" max:"maxPort"`
	// Sel4IPv4 is the seL4 VM's static address as a prefix (10.0.2.15/24)
	// and Sel4IPv4Gateway its default route; "" takes COHESIX_IPV4 from the
	// boot environment, else DHCP (issue 18 item 6, DECISIONS P74).
	Sel4IPv4        string `toml:"sel4_ipv4" check:"ipv4prefix"`
	Sel4IPv4Gateway string `toml:"sel4_ipv4_gateway" check:"ipv4"`
	// Hostile-peer limits (issue 12, docs/SECURITY.md).
	MaxConnsPerPeer       int64 `toml:"max_conns_per_peer" min:"1"`
	HandshakeTimeoutMs    int64 `toml:"handshake_timeout_ms" min:"1"`
	Secure9PIdleTimeoutMs int64 `toml:"secure9p_idle_timeout_ms" min:"1"`
	AcceptBackoffMaxMs    int64 `toml:"accept_backoff_max_ms" min:"1"`
	PeerTableMax          int64 `toml:"peer_table_max" min:"1"`
	AuditSummaryWindowMs  int64 `toml:"audit_summary_window_ms" min:"1"`
	// TrustedForwarders are the peer IPs whose Secure9P Tattach may name
	// the client it forwards (uname via=<ip:port>, DECISIONS P48).
	TrustedForwarders []string `toml:"trusted_forwarders" check:"ip"`
}

// Queen is a Go-port section: the authority loop and worker defaults.
type Queen struct {
	InboxDepth            int64 `toml:"inbox_depth" min:"1"`
	MaxWorkers            int64 `toml:"max_workers" min:"1" max:"maxWorkers"`
	MaxBindsPerSession    int64 `toml:"max_binds_per_session" min:"1"`
	LogRingLines          int64 `toml:"log_ring_lines" min:"1"`
	LogLineMaxBytes       int64 `toml:"log_line_max_bytes" min:"1"`
	HeartbeatIntervalMs   int64 `toml:"heartbeat_interval_ms" min:"1"`
	HeartbeatDefaultTicks int64 `toml:"heartbeat_default_ticks" min:"1"`
	HeartbeatDefaultOps   int64 `toml:"heartbeat_default_ops" min:"1"`
	HeartbeatDefaultTTLS  int64 `toml:"heartbeat_default_ttl_s" min:"1"`
	GPUDefaultOps         int64 `toml:"gpu_default_ops" min:"1"`
	GPUDefaultTTLS        int64 `toml:"gpu_default_ttl_s" min:"1"`
	MaxSessions           int64 `toml:"max_sessions" min:"1"`
	MemoryBudgetBytes     int64 `toml:"memory_budget_bytes" min:"1"`
	FsyncBatchMax         int64 `toml:"fsync_batch_max" min:"1"`
}

// Scripts is a Go-port section: cohsh scripts and the self-test.
type Scripts struct {
	MaxStatements       int64 `toml:"max_statements" min:"1" doc:"script statements"`
	WaitMaxMs           int64 `toml:"wait_max_ms" min:"1" doc:"script 'WAIT' (ms)"`
	TestTimeoutDefaultS int64 `toml:"test_timeout_default_s" min:"1" le:"scripts.test_timeout_max_s"`
	TestTimeoutMaxS     int64 `toml:"test_timeout_max_s" min:"1"`
	FailureHistory      int64 `toml:"failure_history" min:"1"`
}

type Secure9P struct {
	Msize                 int64 `toml:"msize" min:"1" max:"maxMsize"`
	WalkDepth             int64 `toml:"walk_depth" min:"1" max:"maxWalkDepth"`
	WalkComponentMaxBytes int64 `toml:"walk_component_max_bytes" min:"1" max:"maxWalkComponentBytes"`
	TagsPerSession        int64 `toml:"tags_per_session" min:"1" max:"maxTagsPerSession"`
	// At least the attach fid and one walk.
	FidsPerSession int64      `toml:"fids_per_session" min:"2"`
	BatchFrames    int64      `toml:"batch_frames" min:"1"`
	ShortWrite     ShortWrite `toml:"short_write"`
}

type ShortWrite struct {
	Policy        string `toml:"policy" oneof:"short_write_policy"`
	RetryAttempts int64  `toml:"retry_attempts"`
	RetryBaseMs   int64  `toml:"retry_base_ms"`
}

type CAS struct {
	Enable  bool       `toml:"enable"`
	Store   CASStore   `toml:"store"`
	Delta   CASDelta   `toml:"delta"`
	Signing CASSigning `toml:"signing"`
}

type CASStore struct {
	ChunkBytes    int64  `toml:"chunk_bytes" min:"1" le:"secure9p.msize" doc:"largest chunk a bundle may use"`
	MaxChunks     int64  `toml:"max_chunks" min:"1" doc:"chunks one update manifest may list"`
	BudgetBytes   int64  `toml:"budget_bytes" min:"1" doc:"bytes of chunks and models the store keeps"`
	Backing       string `toml:"backing" oneof:"cas_backing" doc:"memory: the event-pump budget; disk: the state dir"`
	MaxUpdates    int64  `toml:"max_updates" min:"1" doc:"accepted epochs kept"`
	MaxModels     int64  `toml:"max_models" min:"1" doc:"committed models kept"`
	ModelMaxBytes int64  `toml:"model_max_bytes" min:"1" le:"cas.store.budget_bytes" doc:"weights of one model"`
	PendingMax    int64  `toml:"pending_max" min:"1" doc:"partial chunks held at once"`
	QuarantineMax int64  `toml:"quarantine_max" min:"1" doc:"quarantine entries kept"`
}

type CASDelta struct {
	Enable bool `toml:"enable" requires:"cas.enable"`
}

type CASSigning struct {
	Required bool   `toml:"required"`
	KeyPath  string `toml:"key_path"`
	// RootKey is the root public key written into the manifest (hex
	// Ed25519), so it is compiled into the image: the seL4 root task has
	// no file to read key_path from (DECISIONS P68).
	RootKey string `toml:"root_key"`
}

type Cache struct {
	KernelOps         bool `toml:"kernel_ops"`
	DMAClean          bool `toml:"dma_clean" requires:"cache.kernel_ops"`
	DMAInvalidate     bool `toml:"dma_invalidate" requires:"cache.kernel_ops"`
	UnifyInstructions bool `toml:"unify_instructions" requires:"cache.kernel_ops"`
}

type Features struct {
	NetConsole    bool `toml:"net_console"`
	SerialConsole bool `toml:"serial_console"`
	StdConsole    bool `toml:"std_console" not_when:"profile.kernel"`
	StdHostTools  bool `toml:"std_host_tools" not_when:"profile.kernel"`
}

type Namespaces struct {
	RoleIsolation bool    `toml:"role_isolation" when:"ecosystem.host.enable"`
	Mounts        []Mount `toml:"mounts"`
}

type Mount struct {
	Service string   `toml:"service" check:"nonempty"`
	Target  []string `toml:"target"`
}

type Sharding struct {
	Enabled           bool  `toml:"enabled"`
	ShardBits         int64 `toml:"shard_bits" max:"maxShardBits"`
	LegacyWorkerAlias bool  `toml:"legacy_worker_alias"`
}

type Telemetry struct {
	RingBytesPerWorker int64           `toml:"ring_bytes_per_worker" min:"1"`
	FrameSchema        string          `toml:"frame_schema" oneof:"frame_schema"`
	Cursor             TelemetryCursor `toml:"cursor"`
}

type TelemetryCursor struct {
	RetainOnBoot bool `toml:"retain_on_boot"`
}

type TelemetryIngest struct {
	MaxSegmentsPerDevice   int64  `toml:"max_segments_per_device"`
	MaxBytesPerSegment     int64  `toml:"max_bytes_per_segment"`
	MaxTotalBytesPerDevice int64  `toml:"max_total_bytes_per_device" ge:"telemetry_ingest.max_bytes_per_segment"`
	MaxRecordBytes         int64  `toml:"max_record_bytes"`
	EvictionPolicy         string `toml:"eviction_policy" oneof:"eviction_policy"`
}

type Lifecycle struct {
	InitialState    string       `toml:"initial_state" oneof:"lifecycle_state"`
	AutoTransitions []Transition `toml:"auto_transitions"`
}

type Transition struct {
	From string `toml:"from" oneof:"lifecycle_state"`
	To   string `toml:"to" oneof:"lifecycle_state"`
}

// Observability sizes the /proc nodes. A longest tag is the longest line a
// node renders (placeholders in keys.go): the node's byte cap must hold it.
type Observability struct {
	Proc9P        Proc9P        `toml:"proc_9p"`
	Proc9PSession Proc9PSession `toml:"proc_9p_session"`
	ProcIngest    ProcIngest    `toml:"proc_ingest"`
	ProcRoot      ProcRoot      `toml:"proc_root"`
	ProcPressure  ProcPressure  `toml:"proc_pressure"`
	ProcSchedule  ProcSchedule  `toml:"proc_schedule"`
	ProcLease     ProcLease     `toml:"proc_lease"`
}

type Proc9P struct {
	Sessions         bool  `toml:"sessions"`
	SessionsBytes    int64 `toml:"sessions_bytes" longest:"sessions total={u64} worker={u64} shard_bits={u8} shard_count={u16}\n{shards}"`
	Outstanding      bool  `toml:"outstanding"`
	OutstandingBytes int64 `toml:"outstanding_bytes" longest:"outstanding current={u64} limit={u64}\n"`
	ShortWrites      bool  `toml:"short_writes"`
	ShortWritesBytes int64 `toml:"short_writes_bytes" longest:"short_writes total={u64} retries={u64}\n"`
}

type Proc9PSession struct {
	Active       bool  `toml:"active"`
	ActiveBytes  int64 `toml:"active_bytes" longest:"active={u64} draining={u64}\n"`
	State        bool  `toml:"state"`
	StateBytes   int64 `toml:"state_bytes" longest:"state=DRAINING\n"`
	SinceMs      bool  `toml:"since_ms"`
	SinceMsBytes int64 `toml:"since_ms_bytes" longest:"since_ms={u64}\n"`
	Owner        bool  `toml:"owner"`
	OwnerBytes   int64 `toml:"owner_bytes" longest:"owner={identity}\n"`
}

type ProcIngest struct {
	P50Ms              bool  `toml:"p50_ms" when:"observability.proc_ingest.watch"`
	P50MsBytes         int64 `toml:"p50_ms_bytes" longest:"p50_ms={u32}\n"`
	P95Ms              bool  `toml:"p95_ms" when:"observability.proc_ingest.watch"`
	P95MsBytes         int64 `toml:"p95_ms_bytes" longest:"p95_ms={u32}\n"`
	Backpressure       bool  `toml:"backpressure" when:"observability.proc_ingest.watch"`
	BackpressureBytes  int64 `toml:"backpressure_bytes" longest:"backpressure={u64}\n"`
	Dropped            bool  `toml:"dropped" when:"observability.proc_ingest.watch"`
	DroppedBytes       int64 `toml:"dropped_bytes" longest:"dropped={u64}\n"`
	Queued             bool  `toml:"queued" when:"observability.proc_ingest.watch"`
	QueuedBytes        int64 `toml:"queued_bytes" longest:"queued={u32}\n"`
	Watch              bool  `toml:"watch"`
	WatchMaxEntries    int64 `toml:"watch_max_entries" min:"1" max:"maxWatchEntries"`
	WatchLineBytes     int64 `toml:"watch_line_bytes" longest:"watch ts_ms={u64} p50_ms={u32} p95_ms={u32} queued={u32} backpressure={u32} dropped={u32} ui_reads={u32} ui_denies={u32}\n"`
	WatchMinIntervalMs int64 `toml:"watch_min_interval_ms" min:"1"`
	LatencySamples     int64 `toml:"latency_samples" min:"1" max:"maxLatencySamples"`
	LatencyToleranceMs int64 `toml:"latency_tolerance_ms"`
	CounterTolerance   int64 `toml:"counter_tolerance"`
}

type ProcRoot struct {
	Reachable       bool  `toml:"reachable"`
	ReachableBytes  int64 `toml:"reachable_bytes" longest:"reachable=yes\n"`
	LastSeenMs      bool  `toml:"last_seen_ms"`
	LastSeenMsBytes int64 `toml:"last_seen_ms_bytes" longest:"last_seen_ms={u64}\n"`
	CutReason       bool  `toml:"cut_reason"`
	CutReasonBytes  int64 `toml:"cut_reason_bytes" longest:"cut_reason=network_unreachable\n"`
}

type ProcPressure struct {
	Busy        bool  `toml:"busy"`
	BusyBytes   int64 `toml:"busy_bytes" longest:"busy={u64}\n"`
	Quota       bool  `toml:"quota"`
	QuotaBytes  int64 `toml:"quota_bytes" longest:"quota={u64}\n"`
	Cut         bool  `toml:"cut"`
	CutBytes    int64 `toml:"cut_bytes" longest:"cut={u64}\n"`
	Policy      bool  `toml:"policy"`
	PolicyBytes int64 `toml:"policy_bytes" longest:"policy={u64}\n"`
}

// ProcSchedule bounds /proc/schedule (Go port, roadmap 24c).
type ProcSchedule struct {
	SummaryBytes    int64 `toml:"summary_bytes" longest:"queue={u64} dequeued={u64} dropped={u64} max_entries={u64}\n"`
	QueueLineBytes  int64 `toml:"queue_line_bytes" longest:"id={worker_id} role=worker-heartbeat priority=0 ticks={u64} budget_ms={u64} seq={u64}\n"`
	QueueMaxEntries int64 `toml:"queue_max_entries" min:"1" max:"maxProcListEntries"` // times queue_line_bytes within event_pump.memory_budget_bytes
}

// ProcLease bounds /proc/lease (Go port, roadmap 24c).
type ProcLease struct {
	SummaryBytes     int64 `toml:"summary_bytes" longest:"active={u64} preemptions=0 quotas=0 max_active={u64}\n"`
	ActiveLineBytes  int64 `toml:"active_line_bytes" longest:"id={worker_id} subject={worker_id} resource=gpu/{gpu_id} ttl_s={u32} priority=255 state=ACTIVE seq={u64}\n"`
	ActiveMaxEntries int64 `toml:"active_max_entries" min:"1" max:"maxProcListEntries"` // times active_line_bytes within event_pump.memory_budget_bytes
}

// UIProviders are UI projections of other nodes: each needs its source on.
type UIProviders struct {
	Proc9P          UIProc9P          `toml:"proc_9p"`
	ProcIngest      UIProcIngest      `toml:"proc_ingest"`
	PolicyPreflight UIPolicyPreflight `toml:"policy_preflight"`
	Updates         UIUpdates         `toml:"updates"`
	ProcUI          UIProcUI          `toml:"proc_ui"`
	// CBORMaxBytes bounds a <node>.cbor variant (20b's 32 KiB total read
	// bound): lines past it are left out.
	CBORMaxBytes int64 `toml:"cbor_max_bytes" min:"64" doc:"byte cap of a UI provider's .cbor variant"`
}

// UIProcUI is /proc/ui, SwarmUI's read-only hive projection (DECISIONS P55):
// a generation line and the workers in pages of page_workers lines, so one
// page stays within one 8 KiB read.
type UIProcUI struct {
	Workers     bool  `toml:"workers" doc:"serve /proc/ui/gen and /proc/ui/workers/<page>"`
	PageWorkers int64 `toml:"page_workers" min:"1" doc:"workers per /proc/ui/workers page"`
	PageBytes   int64 `toml:"page_bytes" min:"1" doc:"byte cap of one page"`
}

type UIProc9P struct {
	Sessions    bool `toml:"sessions" requires:"observability.proc_9p.sessions"`
	Outstanding bool `toml:"outstanding" requires:"observability.proc_9p.outstanding"`
	ShortWrites bool `toml:"short_writes" requires:"observability.proc_9p.short_writes"`
}

type UIProcIngest struct {
	P50Ms        bool `toml:"p50_ms" requires:"observability.proc_ingest.p50_ms"`
	P95Ms        bool `toml:"p95_ms" requires:"observability.proc_ingest.p95_ms"`
	Backpressure bool `toml:"backpressure" requires:"observability.proc_ingest.backpressure"`
}

type UIPolicyPreflight struct {
	Req  bool `toml:"req" requires:"ecosystem.policy.enable"`
	Diff bool `toml:"diff" requires:"ecosystem.policy.enable"`
}

type UIUpdates struct {
	Manifest bool `toml:"manifest" requires:"cas.enable" when:"cas.enable"`
	Status   bool `toml:"status" requires:"cas.enable"`
}

type ClientPolicies struct {
	Cohsh     CohshPolicy     `toml:"cohsh"`
	Coh       CohPolicy       `toml:"coh"`
	Retry     RetryPolicy     `toml:"retry"`
	Heartbeat HeartbeatPolicy `toml:"heartbeat"`
	Trace     TracePolicy     `toml:"trace"`
}

type CohshPolicy struct {
	Pool          CohshPool          `toml:"pool"`
	Tail          CohshTail          `toml:"tail"`
	HostTelemetry CohshHostTelemetry `toml:"host_telemetry"`
}

type CohshPool struct {
	ControlSessions   int64 `toml:"control_sessions" min:"1"`
	TelemetrySessions int64 `toml:"telemetry_sessions" min:"1"`
}

type CohshTail struct {
	PollMsDefault int64 `toml:"poll_ms_default"`
	PollMsMin     int64 `toml:"poll_ms_min" min:"1"`
	PollMsMax     int64 `toml:"poll_ms_max"`
}

type CohshHostTelemetry struct {
	NvidiaPollMs  int64 `toml:"nvidia_poll_ms" min:"1"`
	SystemdPollMs int64 `toml:"systemd_poll_ms" min:"1"`
	DockerPollMs  int64 `toml:"docker_poll_ms" min:"1"`
	K8sPollMs     int64 `toml:"k8s_poll_ms" min:"1"`
}

type CohPolicy struct {
	Mount     CohMount     `toml:"mount"`
	Telemetry CohTelemetry `toml:"telemetry"`
	Run       CohRun       `toml:"run"`
	Peft      CohPeft      `toml:"peft"`
}

type CohMount struct {
	Root      string   `toml:"root" check:"abspath-or-root"`
	Allowlist []string `toml:"allowlist" check:"abspath"`
}

type CohTelemetry struct {
	Root                   string `toml:"root" check:"abspath"`
	MaxDevices             int64  `toml:"max_devices" min:"1" max:"maxTelemetryDevices"`
	MaxSegmentsPerDevice   int64  `toml:"max_segments_per_device"`
	MaxBytesPerSegment     int64  `toml:"max_bytes_per_segment"`
	MaxTotalBytesPerDevice int64  `toml:"max_total_bytes_per_device"`
}

type CohRun struct {
	Lease      CohLease      `toml:"lease"`
	Breadcrumb CohBreadcrumb `toml:"breadcrumb"`
}

type CohLease struct {
	Schema      string `toml:"schema" bytes:"maxLeaseSchemaBytes"`
	ActiveState string `toml:"active_state" bytes:"maxLeaseStateBytes"`
	MaxBytes    int64  `toml:"max_bytes" min:"1"`
}

type CohBreadcrumb struct {
	Schema          string `toml:"schema" check:"nonempty"`
	MaxLineBytes    int64  `toml:"max_line_bytes" min:"1"`
	MaxCommandBytes int64  `toml:"max_command_bytes" min:"1"`
}

type CohPeft struct {
	Export   PeftExport   `toml:"export"`
	Import   PeftImport   `toml:"import"`
	Activate PeftActivate `toml:"activate"`
}

type PeftExport struct {
	Root              string `toml:"root" check:"abspath"`
	MaxTelemetryBytes int64  `toml:"max_telemetry_bytes" min:"1"`
	MaxPolicyBytes    int64  `toml:"max_policy_bytes" min:"1"`
	MaxBaseModelBytes int64  `toml:"max_base_model_bytes" min:"1"`
}

type PeftImport struct {
	RegistryRoot     string `toml:"registry_root" check:"nonempty"`
	MaxAdapterBytes  int64  `toml:"max_adapter_bytes" min:"1"`
	MaxLoraBytes     int64  `toml:"max_lora_bytes" min:"1"`
	MaxMetricsBytes  int64  `toml:"max_metrics_bytes" min:"1"`
	MaxManifestBytes int64  `toml:"max_manifest_bytes" min:"1"`
}

type PeftActivate struct {
	MaxModelIDBytes int64 `toml:"max_model_id_bytes" min:"1"`
	MaxStateBytes   int64 `toml:"max_state_bytes" min:"1"`
}

type RetryPolicy struct {
	MaxAttempts int64 `toml:"max_attempts" min:"1"`
	BackoffMs   int64 `toml:"backoff_ms" min:"1" le:"client_policies.retry.ceiling_ms"`
	CeilingMs   int64 `toml:"ceiling_ms" min:"1"`
	TimeoutMs   int64 `toml:"timeout_ms" min:"1"`
}

type HeartbeatPolicy struct {
	IntervalMs int64 `toml:"interval_ms" min:"1"`
	Msize      int64 `toml:"msize" min:"512" le:"secure9p.msize" doc:"the msize a worker's heartbeat session negotiates"`
}

type TracePolicy struct {
	MaxBytes int64 `toml:"max_bytes" min:"1"`
}

type ClientPaths struct {
	QueenCtl          string `toml:"queen_ctl" check:"abspath"`
	QueenLifecycleCtl string `toml:"queen_lifecycle_ctl" check:"abspath"`
	Log               string `toml:"log" check:"abspath"`
}

type SwarmUI struct {
	Bind        string `toml:"bind" check:"hostport" doc:"swarmui's default listen address (loopback)"`
	SessionsMax int64  `toml:"sessions_max" min:"1" doc:"live browser sessions (cookie table bound)"`
	// SessionsPerSubject keeps one ticket's logins from evicting everyone
	// else's sessions (the table evicts its least recently used).
	SessionsPerSubject int64        `toml:"sessions_per_subject" min:"1" le:"swarmui.sessions_max" doc:"live browser sessions of one ticket subject (429 over it)"`
	SessionIdleS       int64        `toml:"session_idle_s" min:"1" doc:"an idle browser session is evicted"`
	RatePerS           int64        `toml:"rate_per_s" min:"1" doc:"API requests per second per browser session (429 over it)"`
	PushMs             int64        `toml:"push_ms" min:"1" doc:"the stream's diff cadence"`
	TicketScope        string       `toml:"ticket_scope" check:"nonempty"`
	Cache              SwarmUICache `toml:"cache"`
	Hive               SwarmUIHive  `toml:"hive"`
	Paths              SwarmUIPaths `toml:"paths"`
}

type SwarmUICache struct {
	Enabled  bool  `toml:"enabled"`
	MaxBytes int64 `toml:"max_bytes" min:"1"`
	TTLS     int64 `toml:"ttl_s" min:"1"`
}

type SwarmUIHive struct {
	FrameCapFps       int64   `toml:"frame_cap_fps" min:"minHiveFps" max:"maxHiveFps"`
	StepMs            int64   `toml:"step_ms" min:"1"`
	LodZoomOut        float64 `toml:"lod_zoom_out"`
	LodZoomIn         float64 `toml:"lod_zoom_in"`
	LodEventBudget    int64   `toml:"lod_event_budget" min:"1"`
	SnapshotMaxEvents int64   `toml:"snapshot_max_events" min:"1"`
	OverlayLines      int64   `toml:"overlay_lines" min:"1"`
	DetailLines       int64   `toml:"detail_lines" ge:"swarmui.hive.overlay_lines"`
	LineCapBytes      int64   `toml:"line_cap_bytes" min:"1"`
	PerWorkerBytes    int64   `toml:"per_worker_bytes" ge:"swarmui.hive.line_cap_bytes"`
}

type SwarmUIPaths struct {
	TelemetryRoot  string   `toml:"telemetry_root" check:"abspath"`
	WorkerRoot     string   `toml:"worker_root" check:"abspath"`
	ProcIngestRoot string   `toml:"proc_ingest_root" check:"abspath"`
	NamespaceRoots []string `toml:"namespace_roots" check:"abspath"`
}

// Gateway is a Go-port section: hive-gateway, the hive's REST door
// (DECISIONS D12, issue 14). Its upstream sessions are Secure9P
// connections from one address, so they stay within the hive's per-peer
// connection cap.
type Gateway struct {
	Bind                string        `toml:"bind" check:"hostport" doc:"default listen address (loopback)"`
	MaxBodyBytes        int64         `toml:"max_body_bytes" min:"1" doc:"a JSON request body"`
	MaxReadBytes        int64         `toml:"max_read_bytes" min:"1" doc:"cap of max_bytes on cat and tail"`
	TailMaxLines        int64         `toml:"tail_max_lines" min:"1" doc:"cap of lines on tail"`
	ReadHeaderTimeoutMs int64         `toml:"read_header_timeout_ms" min:"1" doc:"slow clients"`
	IdleTimeoutMs       int64         `toml:"idle_timeout_ms" min:"1" doc:"idle keep-alive connections"`
	MaxConnsPerPeer     int64         `toml:"max_conns_per_peer" min:"1" doc:"live HTTP connections from one source address; the newest beyond is closed"`
	UpstreamSessionsMax int64         `toml:"upstream_sessions_max" min:"1" le:"network.max_conns_per_peer" doc:"per-ticket Secure9P sessions"`
	UpstreamIdleMs      int64         `toml:"upstream_idle_ms" min:"1" doc:"an unused per-ticket session is closed"`
	ReconnectBackoffMs  int64         `toml:"reconnect_backoff_ms" min:"1"`
	ReconnectCeilingMs  int64         `toml:"reconnect_ceiling_ms" ge:"gateway.reconnect_backoff_ms"`
	GCPercent           int64         `toml:"gc_percent" min:"1" doc:"the Go collector's heap growth between cycles, unless GOGC is set"`
	MemoryLimitBytes    int64         `toml:"memory_limit_bytes" min:"1" doc:"the Go runtime's soft memory limit, unless GOMEMLIMIT is set"`
	Broker              GatewayBroker `toml:"broker"`
	Cache               GatewayCache  `toml:"cache"`
}

// GatewayBroker bounds the gateway's queues (milestones 25b, 25f).
type GatewayBroker struct {
	ControlQueue   int64 `toml:"control_queue" min:"1" doc:"queued control requests"`
	TelemetryQueue int64 `toml:"telemetry_queue" min:"1" doc:"queued telemetry requests"`
	Workers        int64 `toml:"workers" min:"1" doc:"requests upstream at once"`
	ControlWeight  int64 `toml:"control_weight" min:"1" doc:"control requests served per telemetry request when both wait"`
	DeadlineMs     int64 `toml:"deadline_ms" min:"1" doc:"queue wait plus upstream time before 504"`
}

// GatewayCache is the read-through cache of hot /proc reads (25b).
type GatewayCache struct {
	TTLMs      int64 `toml:"ttl_ms" min:"1"`
	MaxEntries int64 `toml:"max_entries" min:"1"`
}

// TicketLimits is documented in the ticket quotas snippet.
type TicketLimits struct {
	MaxScopes        int64 `toml:"max_scopes" max:"maxTicketScopes" doc:"scopes per ticket"`
	MaxScopePathLen  int64 `toml:"max_scope_path_len" min:"1" max:"maxScopePathLen" doc:"bytes per scope path"`
	MaxScopeRatePerS int64 `toml:"max_scope_rate_per_s" doc:"max 'rate_per_s' a scope may request (0 = unlimited)"`
	BandwidthBytes   int64 `toml:"bandwidth_bytes" doc:"max / default byte budget (0 = unlimited)"`
	CursorResumes    int64 `toml:"cursor_resumes" doc:"max / default cursor resumes (0 = unlimited)"`
	CursorAdvances   int64 `toml:"cursor_advances" doc:"max / default cursor advances (0 = unlimited)"`
	RateWindowMs     int64 `toml:"rate_window_ms" min:"1" doc:"scope rate window"`
	ClockSkewMs      int64 `toml:"clock_skew_ms" min:"0"`
}

type Ticket struct {
	Role   string `toml:"role" oneof:"ticket_role"`
	Secret string `toml:"secret"`
}

type Sidecars struct {
	Modbus BusSidecar  `toml:"modbus"`
	DNP3   BusSidecar  `toml:"dnp3"`
	Lora   LoraSidecar `toml:"lora"`
}

type BusSidecar struct {
	Enable   bool         `toml:"enable"`
	MountAt  string       `toml:"mount_at" check:"abspath"`
	Adapters []BusAdapter `toml:"adapters"`
}

type BusAdapter struct {
	ID    string   `toml:"id" check:"name"`
	Mount string   `toml:"mount" check:"name"`
	Scope string   `toml:"scope" check:"name"`
	Link  string   `toml:"link" oneof:"bus_link"`
	Baud  int64    `toml:"baud"`
	Spool BusSpool `toml:"spool"`
}

type BusSpool struct {
	MaxEntries int64 `toml:"max_entries" min:"1" max:"maxSpoolEntries"`
	MaxBytes   int64 `toml:"max_bytes" min:"1" max:"secure9p.msize"`
}

type LoraSidecar struct {
	Enable   bool          `toml:"enable"`
	MountAt  string        `toml:"mount_at" check:"abspath"`
	Adapters []LoraAdapter `toml:"adapters"`
}

type LoraAdapter struct {
	ID                  string `toml:"id" check:"name"`
	Mount               string `toml:"mount" check:"name"`
	Scope               string `toml:"scope" check:"name"`
	Region              string `toml:"region" check:"nonempty"`
	DutyCyclePercent    int64  `toml:"duty_cycle_percent" min:"1" max:"maxDutyCyclePercent"`
	WindowMs            int64  `toml:"window_ms" min:"1"`
	MaxPayloadBytes     int64  `toml:"max_payload_bytes" min:"1" max:"secure9p.msize"`
	TamperLogMaxEntries int64  `toml:"tamper_log_max_entries" min:"1"`
}

type Ecosystem struct {
	Host   EcoHost   `toml:"host"`
	Audit  EcoAudit  `toml:"audit"`
	Policy EcoPolicy `toml:"policy"`
	Models EcoModels `toml:"models"`
}

type EcoHost struct {
	Enable    bool     `toml:"enable"`
	MountAt   string   `toml:"mount_at" check:"abspath"`
	Providers []string `toml:"providers" oneof:"host_provider"`
}

type EcoAudit struct {
	Enable               bool  `toml:"enable"`
	JournalMaxBytes      int64 `toml:"journal_max_bytes" min:"1"`
	JournalPayloadBytes  int64 `toml:"journal_payload_max_bytes" min:"1"`
	DecisionsMaxBytes    int64 `toml:"decisions_max_bytes" min:"1"`
	ReplayEnable         bool  `toml:"replay_enable" requires:"ecosystem.audit.enable"`
	ReplayMaxEntries     int64 `toml:"replay_max_entries" min:"1" max:"maxReplayEntries"`
	ReplayCtlMaxBytes    int64 `toml:"replay_ctl_max_bytes" min:"1"`
	ReplayStatusMaxBytes int64 `toml:"replay_status_max_bytes" min:"1"`
}

type EcoPolicy struct {
	Enable          bool         `toml:"enable"`
	QueueMaxEntries int64        `toml:"queue_max_entries" min:"1" max:"maxPolicyQueueEntries"`
	QueueMaxBytes   int64        `toml:"queue_max_bytes" min:"1"`
	CtlMaxBytes     int64        `toml:"ctl_max_bytes" min:"1"`
	StatusMaxBytes  int64        `toml:"status_max_bytes" min:"1"`
	Rules           []PolicyRule `toml:"rules"`
}

type PolicyRule struct {
	ID     string `toml:"id" bytes:"maxPolicyRuleIDBytes"`
	Target string `toml:"target" check:"abspath"`
}

type EcoModels struct {
	Enable bool `toml:"enable" requires:"cas.enable"`
}

// GPU is a Go-port section: the bounds of the /gpu namespace the host
// bridge publishes (spec/gpu-telemetry.md §1-§4, namespace.md §5).
type GPU struct {
	IDMaxBytes              int64 `toml:"id_max_bytes" min:"1" max:"secure9p.walk_component_max_bytes"`
	BridgePayloadMaxBytes   int64 `toml:"bridge_payload_max_bytes" min:"1"`
	BridgeLogMaxBytes       int64 `toml:"bridge_log_max_bytes" min:"1"`
	BridgeStatusMaxBytes    int64 `toml:"bridge_status_max_bytes" min:"1"`
	CtlMaxBytes             int64 `toml:"ctl_max_bytes" min:"1"`
	LeaseMaxBytes           int64 `toml:"lease_max_bytes" min:"1"`
	StatusMaxBytes          int64 `toml:"status_max_bytes" min:"1"`
	JobMaxBytes             int64 `toml:"job_max_bytes" min:"1"`
	ModelIDMaxBytes         int64 `toml:"model_id_max_bytes" min:"1" max:"maxModelIDBytes"`
	ModelManifestMaxBytes   int64 `toml:"model_manifest_max_bytes" min:"1"`
	ActiveMaxBytes          int64 `toml:"active_max_bytes" min:"1"`
	SchemaMaxBytes          int64 `toml:"schema_max_bytes" min:"1"`
	TelemetryRecordMaxBytes int64 `toml:"telemetry_record_max_bytes" min:"1"`
	LoraJobsMax             int64 `toml:"lora_jobs_max" min:"1"`
}

// Persistence is milestone 27's on-device stores (Go port, DECISIONS
// P91-P94): the store-and-forward spool (internal/blockspool) and the A/B
// settings store (internal/settings), each on a block device of
// block_bytes blocks (a file under --state-dir on the hosted root task).
// The spool's ring holds max_bytes; a record's payload is at most
// max_record_bytes; mode is refuse (never overwrite a record) or
// overwrite_acked (reclaim acknowledged records when full). A settings
// page is page_bytes (two of them), keys and values at most max_key_bytes
// and max_value_bytes of UTF-8. Where the platform has a disk and no
// state directory (seL4), the governance spool and the telemetry ingest
// spool take governance_bytes and ingest_bytes of it after the settings
// pages (internal/spool's device medium, DECISIONS P105-P107).
type Persistence struct {
	BlockBytes      int64               `toml:"block_bytes" min:"512" max:"maxBlockBytes"`
	GovernanceBytes int64               `toml:"governance_bytes" min:"1" max:"maxSpoolBytes"`
	IngestBytes     int64               `toml:"ingest_bytes" min:"1" max:"maxSpoolBytes"`
	Spool           PersistenceSpool    `toml:"spool"`
	Settings        PersistenceSettings `toml:"settings"`
}

type PersistenceSpool struct {
	Mode           string `toml:"mode" oneof:"spool_mode"`
	MaxBytes       int64  `toml:"max_bytes" min:"1" max:"maxSpoolBytes"`
	MaxRecordBytes int64  `toml:"max_record_bytes" min:"1" le:"persistence.spool.max_bytes"`
}

type PersistenceSettings struct {
	PageBytes     int64 `toml:"page_bytes" min:"1" max:"maxSettingsPageBytes"`
	MaxKeyBytes   int64 `toml:"max_key_bytes" min:"1" max:"maxSettingsFieldBytes"`
	MaxValueBytes int64 `toml:"max_value_bytes" min:"1" max:"maxSettingsFieldBytes"`
}
