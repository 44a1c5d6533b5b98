// Package manifest is the root-task manifest compiler behind coh-rtc: it
// decodes configs/root_task.toml strictly, applies defaults, validates every
// rule of spec/manifest.md (plus the Go-port sections) and renders the
// generated Go tables, the resolved JSON/CBOR and the doc snippets.
package manifest

// Manifest is the typed schema of configs/root_task.toml. Field tags are the
// TOML (and resolved JSON/CBOR) key names; GoName of a key path names the
// identifier coh-rtc emits in package generated.
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
	TicketLimits    TicketLimits    `toml:"ticket_limits"`
	Tickets         []Ticket        `toml:"tickets"`
	Sidecars        Sidecars        `toml:"sidecars"`
	Ecosystem       Ecosystem       `toml:"ecosystem"`
	GPU             GPU             `toml:"gpu"`
}

type Meta struct {
	Author  string `toml:"author"`
	Purpose string `toml:"purpose"`
}

type RootTask struct {
	Schema string `toml:"schema"`
}

type Profile struct {
	Name   string `toml:"name"`
	Kernel bool   `toml:"kernel"`
}

type EventPump struct {
	TickMs int64 `toml:"tick_ms"`
}

// Console is a Go-port section: console grammar and transport limits
// (spec/console.md §1-§6).
type Console struct {
	LineMaxBytes             int64  `toml:"line_max_bytes"`
	RoleMax                  int64  `toml:"role_max"`
	TicketMax                int64  `toml:"ticket_max"`
	PathMax                  int64  `toml:"path_max"`
	JSONMax                  int64  `toml:"json_max"`
	WorkerIDMax              int64  `toml:"worker_id_max"`
	EchoMax                  int64  `toml:"echo_max"`
	AckMaxBytes              int64  `toml:"ack_max_bytes"`
	CatSummaryMaxBytes       int64  `toml:"cat_summary_max_bytes"`
	CatSummaryLineMaxBytes   int64  `toml:"cat_summary_line_max_bytes"`
	B64LineMax               int64  `toml:"b64_line_max"`
	FrameMaxBytes            int64  `toml:"frame_max_bytes"`
	InboundQueueDepth        int64  `toml:"inbound_queue_depth"`
	AuthToken                string `toml:"auth_token"`
	AuthTimeoutMs            int64  `toml:"auth_timeout_ms"`
	IdleTimeoutMs            int64  `toml:"idle_timeout_ms"`
	AttachBackoffBaseMs      int64  `toml:"attach_backoff_base_ms"`
	AttachBackoffMaxExponent int64  `toml:"attach_backoff_max_exponent"`
	AttachLockoutFailures    int64  `toml:"attach_lockout_failures"`
	AttachLockoutWindowMs    int64  `toml:"attach_lockout_window_ms"`
	AttachLockoutCooldownMs  int64  `toml:"attach_lockout_cooldown_ms"`
	CachelogDefault          int64  `toml:"cachelog_default"`
}

// Network is a Go-port section: listener addresses (DECISIONS D5).
type Network struct {
	ConsoleListen    string `toml:"console_listen"`
	Secure9PListen   string `toml:"secure9p_listen"`
	Sel4ConsolePort  int64  `toml:"sel4_console_port"`
	Sel4Secure9PPort int64  `toml:"sel4_secure9p_port"`
	// Hostile-peer limits (issue 12, docs/SECURITY.md).
	MaxConnsPerPeer       int64 `toml:"max_conns_per_peer"`
	HandshakeTimeoutMs    int64 `toml:"handshake_timeout_ms"`
	Secure9PIdleTimeoutMs int64 `toml:"secure9p_idle_timeout_ms"`
	AcceptBackoffMaxMs    int64 `toml:"accept_backoff_max_ms"`
	PeerTableMax          int64 `toml:"peer_table_max"`
	AuditSummaryWindowMs  int64 `toml:"audit_summary_window_ms"`
}

// Queen is a Go-port section: the authority loop and worker defaults.
type Queen struct {
	InboxDepth            int64 `toml:"inbox_depth"`
	MaxWorkers            int64 `toml:"max_workers"`
	MaxBindsPerSession    int64 `toml:"max_binds_per_session"`
	LogRingLines          int64 `toml:"log_ring_lines"`
	LogLineMaxBytes       int64 `toml:"log_line_max_bytes"`
	HeartbeatIntervalMs   int64 `toml:"heartbeat_interval_ms"`
	HeartbeatDefaultTicks int64 `toml:"heartbeat_default_ticks"`
	HeartbeatDefaultOps   int64 `toml:"heartbeat_default_ops"`
	HeartbeatDefaultTTLS  int64 `toml:"heartbeat_default_ttl_s"`
	GPUDefaultOps         int64 `toml:"gpu_default_ops"`
	GPUDefaultTTLS        int64 `toml:"gpu_default_ttl_s"`
	MaxSessions           int64 `toml:"max_sessions"`
	MemoryBudgetBytes     int64 `toml:"memory_budget_bytes"`
	FsyncBatchMax         int64 `toml:"fsync_batch_max"`
}

// Scripts is a Go-port section: cohsh scripts and the self-test.
type Scripts struct {
	MaxStatements       int64 `toml:"max_statements"`
	WaitMaxMs           int64 `toml:"wait_max_ms"`
	TestTimeoutDefaultS int64 `toml:"test_timeout_default_s"`
	TestTimeoutMaxS     int64 `toml:"test_timeout_max_s"`
	FailureHistory      int64 `toml:"failure_history"`
}

type Secure9P struct {
	Msize                 int64      `toml:"msize"`
	WalkDepth             int64      `toml:"walk_depth"`
	WalkComponentMaxBytes int64      `toml:"walk_component_max_bytes"`
	TagsPerSession        int64      `toml:"tags_per_session"`
	FidsPerSession        int64      `toml:"fids_per_session"`
	BatchFrames           int64      `toml:"batch_frames"`
	ShortWrite            ShortWrite `toml:"short_write"`
}

type ShortWrite struct {
	Policy        string `toml:"policy"`
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
	ChunkBytes int64 `toml:"chunk_bytes"`
}

type CASDelta struct {
	Enable bool `toml:"enable"`
}

type CASSigning struct {
	Required bool   `toml:"required"`
	KeyPath  string `toml:"key_path"`
}

type Cache struct {
	KernelOps         bool `toml:"kernel_ops"`
	DMAClean          bool `toml:"dma_clean"`
	DMAInvalidate     bool `toml:"dma_invalidate"`
	UnifyInstructions bool `toml:"unify_instructions"`
}

type Features struct {
	NetConsole    bool `toml:"net_console"`
	SerialConsole bool `toml:"serial_console"`
	StdConsole    bool `toml:"std_console"`
	StdHostTools  bool `toml:"std_host_tools"`
}

type Namespaces struct {
	RoleIsolation bool    `toml:"role_isolation"`
	Mounts        []Mount `toml:"mounts"`
}

type Mount struct {
	Service string   `toml:"service"`
	Target  []string `toml:"target"`
}

type Sharding struct {
	Enabled           bool  `toml:"enabled"`
	ShardBits         int64 `toml:"shard_bits"`
	LegacyWorkerAlias bool  `toml:"legacy_worker_alias"`
}

type Telemetry struct {
	RingBytesPerWorker int64           `toml:"ring_bytes_per_worker"`
	FrameSchema        string          `toml:"frame_schema"`
	Cursor             TelemetryCursor `toml:"cursor"`
}

type TelemetryCursor struct {
	RetainOnBoot bool `toml:"retain_on_boot"`
}

type TelemetryIngest struct {
	MaxSegmentsPerDevice   int64  `toml:"max_segments_per_device"`
	MaxBytesPerSegment     int64  `toml:"max_bytes_per_segment"`
	MaxTotalBytesPerDevice int64  `toml:"max_total_bytes_per_device"`
	MaxRecordBytes         int64  `toml:"max_record_bytes"`
	EvictionPolicy         string `toml:"eviction_policy"`
}

type Lifecycle struct {
	InitialState    string       `toml:"initial_state"`
	AutoTransitions []Transition `toml:"auto_transitions"`
}

type Transition struct {
	From string `toml:"from"`
	To   string `toml:"to"`
}

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
	SessionsBytes    int64 `toml:"sessions_bytes"`
	Outstanding      bool  `toml:"outstanding"`
	OutstandingBytes int64 `toml:"outstanding_bytes"`
	ShortWrites      bool  `toml:"short_writes"`
	ShortWritesBytes int64 `toml:"short_writes_bytes"`
}

type Proc9PSession struct {
	Active       bool  `toml:"active"`
	ActiveBytes  int64 `toml:"active_bytes"`
	State        bool  `toml:"state"`
	StateBytes   int64 `toml:"state_bytes"`
	SinceMs      bool  `toml:"since_ms"`
	SinceMsBytes int64 `toml:"since_ms_bytes"`
	Owner        bool  `toml:"owner"`
	OwnerBytes   int64 `toml:"owner_bytes"`
}

type ProcIngest struct {
	P50Ms              bool  `toml:"p50_ms"`
	P50MsBytes         int64 `toml:"p50_ms_bytes"`
	P95Ms              bool  `toml:"p95_ms"`
	P95MsBytes         int64 `toml:"p95_ms_bytes"`
	Backpressure       bool  `toml:"backpressure"`
	BackpressureBytes  int64 `toml:"backpressure_bytes"`
	Dropped            bool  `toml:"dropped"`
	DroppedBytes       int64 `toml:"dropped_bytes"`
	Queued             bool  `toml:"queued"`
	QueuedBytes        int64 `toml:"queued_bytes"`
	Watch              bool  `toml:"watch"`
	WatchMaxEntries    int64 `toml:"watch_max_entries"`
	WatchLineBytes     int64 `toml:"watch_line_bytes"`
	WatchMinIntervalMs int64 `toml:"watch_min_interval_ms"`
	LatencySamples     int64 `toml:"latency_samples"`
	LatencyToleranceMs int64 `toml:"latency_tolerance_ms"`
	CounterTolerance   int64 `toml:"counter_tolerance"`
}

type ProcRoot struct {
	Reachable       bool  `toml:"reachable"`
	ReachableBytes  int64 `toml:"reachable_bytes"`
	LastSeenMs      bool  `toml:"last_seen_ms"`
	LastSeenMsBytes int64 `toml:"last_seen_ms_bytes"`
	CutReason       bool  `toml:"cut_reason"`
	CutReasonBytes  int64 `toml:"cut_reason_bytes"`
}

type ProcPressure struct {
	Busy        bool  `toml:"busy"`
	BusyBytes   int64 `toml:"busy_bytes"`
	Quota       bool  `toml:"quota"`
	QuotaBytes  int64 `toml:"quota_bytes"`
	Cut         bool  `toml:"cut"`
	CutBytes    int64 `toml:"cut_bytes"`
	Policy      bool  `toml:"policy"`
	PolicyBytes int64 `toml:"policy_bytes"`
}

// ProcSchedule bounds /proc/schedule (Go port, roadmap 24c).
type ProcSchedule struct {
	SummaryBytes    int64 `toml:"summary_bytes"`
	QueueLineBytes  int64 `toml:"queue_line_bytes"`
	QueueMaxEntries int64 `toml:"queue_max_entries"`
}

// ProcLease bounds /proc/lease (Go port, roadmap 24c).
type ProcLease struct {
	SummaryBytes     int64 `toml:"summary_bytes"`
	ActiveLineBytes  int64 `toml:"active_line_bytes"`
	ActiveMaxEntries int64 `toml:"active_max_entries"`
}

type UIProviders struct {
	Proc9P          UIProc9P          `toml:"proc_9p"`
	ProcIngest      UIProcIngest      `toml:"proc_ingest"`
	PolicyPreflight UIPolicyPreflight `toml:"policy_preflight"`
	Updates         UIUpdates         `toml:"updates"`
}

type UIProc9P struct {
	Sessions    bool `toml:"sessions"`
	Outstanding bool `toml:"outstanding"`
	ShortWrites bool `toml:"short_writes"`
}

type UIProcIngest struct {
	P50Ms        bool `toml:"p50_ms"`
	P95Ms        bool `toml:"p95_ms"`
	Backpressure bool `toml:"backpressure"`
}

type UIPolicyPreflight struct {
	Req  bool `toml:"req"`
	Diff bool `toml:"diff"`
}

type UIUpdates struct {
	Manifest bool `toml:"manifest"`
	Status   bool `toml:"status"`
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
	ControlSessions   int64 `toml:"control_sessions"`
	TelemetrySessions int64 `toml:"telemetry_sessions"`
}

type CohshTail struct {
	PollMsDefault int64 `toml:"poll_ms_default"`
	PollMsMin     int64 `toml:"poll_ms_min"`
	PollMsMax     int64 `toml:"poll_ms_max"`
}

type CohshHostTelemetry struct {
	NvidiaPollMs  int64 `toml:"nvidia_poll_ms"`
	SystemdPollMs int64 `toml:"systemd_poll_ms"`
	DockerPollMs  int64 `toml:"docker_poll_ms"`
	K8sPollMs     int64 `toml:"k8s_poll_ms"`
}

type CohPolicy struct {
	Mount     CohMount     `toml:"mount"`
	Telemetry CohTelemetry `toml:"telemetry"`
	Run       CohRun       `toml:"run"`
	Peft      CohPeft      `toml:"peft"`
}

type CohMount struct {
	Root      string   `toml:"root"`
	Allowlist []string `toml:"allowlist"`
}

type CohTelemetry struct {
	Root                   string `toml:"root"`
	MaxDevices             int64  `toml:"max_devices"`
	MaxSegmentsPerDevice   int64  `toml:"max_segments_per_device"`
	MaxBytesPerSegment     int64  `toml:"max_bytes_per_segment"`
	MaxTotalBytesPerDevice int64  `toml:"max_total_bytes_per_device"`
}

type CohRun struct {
	Lease      CohLease      `toml:"lease"`
	Breadcrumb CohBreadcrumb `toml:"breadcrumb"`
}

type CohLease struct {
	Schema      string `toml:"schema"`
	ActiveState string `toml:"active_state"`
	MaxBytes    int64  `toml:"max_bytes"`
}

type CohBreadcrumb struct {
	Schema          string `toml:"schema"`
	MaxLineBytes    int64  `toml:"max_line_bytes"`
	MaxCommandBytes int64  `toml:"max_command_bytes"`
}

type CohPeft struct {
	Export   PeftExport   `toml:"export"`
	Import   PeftImport   `toml:"import"`
	Activate PeftActivate `toml:"activate"`
}

type PeftExport struct {
	Root              string `toml:"root"`
	MaxTelemetryBytes int64  `toml:"max_telemetry_bytes"`
	MaxPolicyBytes    int64  `toml:"max_policy_bytes"`
	MaxBaseModelBytes int64  `toml:"max_base_model_bytes"`
}

type PeftImport struct {
	RegistryRoot     string `toml:"registry_root"`
	MaxAdapterBytes  int64  `toml:"max_adapter_bytes"`
	MaxLoraBytes     int64  `toml:"max_lora_bytes"`
	MaxMetricsBytes  int64  `toml:"max_metrics_bytes"`
	MaxManifestBytes int64  `toml:"max_manifest_bytes"`
}

type PeftActivate struct {
	MaxModelIDBytes int64 `toml:"max_model_id_bytes"`
	MaxStateBytes   int64 `toml:"max_state_bytes"`
}

type RetryPolicy struct {
	MaxAttempts int64 `toml:"max_attempts"`
	BackoffMs   int64 `toml:"backoff_ms"`
	CeilingMs   int64 `toml:"ceiling_ms"`
	TimeoutMs   int64 `toml:"timeout_ms"`
}

type HeartbeatPolicy struct {
	IntervalMs int64 `toml:"interval_ms"`
}

type TracePolicy struct {
	MaxBytes int64 `toml:"max_bytes"`
}

type ClientPaths struct {
	QueenCtl          string `toml:"queen_ctl"`
	QueenLifecycleCtl string `toml:"queen_lifecycle_ctl"`
	Log               string `toml:"log"`
}

type SwarmUI struct {
	TicketScope string       `toml:"ticket_scope"`
	Cache       SwarmUICache `toml:"cache"`
	Hive        SwarmUIHive  `toml:"hive"`
	Paths       SwarmUIPaths `toml:"paths"`
}

type SwarmUICache struct {
	Enabled  bool  `toml:"enabled"`
	MaxBytes int64 `toml:"max_bytes"`
	TTLS     int64 `toml:"ttl_s"`
}

type SwarmUIHive struct {
	FrameCapFps       int64   `toml:"frame_cap_fps"`
	StepMs            int64   `toml:"step_ms"`
	LodZoomOut        float64 `toml:"lod_zoom_out"`
	LodZoomIn         float64 `toml:"lod_zoom_in"`
	LodEventBudget    int64   `toml:"lod_event_budget"`
	SnapshotMaxEvents int64   `toml:"snapshot_max_events"`
	OverlayLines      int64   `toml:"overlay_lines"`
	DetailLines       int64   `toml:"detail_lines"`
	LineCapBytes      int64   `toml:"line_cap_bytes"`
	PerWorkerBytes    int64   `toml:"per_worker_bytes"`
}

type SwarmUIPaths struct {
	TelemetryRoot  string   `toml:"telemetry_root"`
	WorkerRoot     string   `toml:"worker_root"`
	ProcIngestRoot string   `toml:"proc_ingest_root"`
	NamespaceRoots []string `toml:"namespace_roots"`
}

type TicketLimits struct {
	MaxScopes        int64 `toml:"max_scopes"`
	MaxScopePathLen  int64 `toml:"max_scope_path_len"`
	MaxScopeRatePerS int64 `toml:"max_scope_rate_per_s"`
	BandwidthBytes   int64 `toml:"bandwidth_bytes"`
	CursorResumes    int64 `toml:"cursor_resumes"`
	CursorAdvances   int64 `toml:"cursor_advances"`
	RateWindowMs     int64 `toml:"rate_window_ms"`
	ClockSkewMs      int64 `toml:"clock_skew_ms"`
}

type Ticket struct {
	Role   string `toml:"role"`
	Secret string `toml:"secret"`
}

type Sidecars struct {
	Modbus BusSidecar  `toml:"modbus"`
	DNP3   BusSidecar  `toml:"dnp3"`
	Lora   LoraSidecar `toml:"lora"`
}

type BusSidecar struct {
	Enable   bool         `toml:"enable"`
	MountAt  string       `toml:"mount_at"`
	Adapters []BusAdapter `toml:"adapters"`
}

type BusAdapter struct {
	ID    string   `toml:"id"`
	Mount string   `toml:"mount"`
	Scope string   `toml:"scope"`
	Link  string   `toml:"link"`
	Baud  int64    `toml:"baud"`
	Spool BusSpool `toml:"spool"`
}

type BusSpool struct {
	MaxEntries int64 `toml:"max_entries"`
	MaxBytes   int64 `toml:"max_bytes"`
}

type LoraSidecar struct {
	Enable   bool          `toml:"enable"`
	MountAt  string        `toml:"mount_at"`
	Adapters []LoraAdapter `toml:"adapters"`
}

type LoraAdapter struct {
	ID                  string `toml:"id"`
	Mount               string `toml:"mount"`
	Scope               string `toml:"scope"`
	Region              string `toml:"region"`
	DutyCyclePercent    int64  `toml:"duty_cycle_percent"`
	WindowMs            int64  `toml:"window_ms"`
	MaxPayloadBytes     int64  `toml:"max_payload_bytes"`
	TamperLogMaxEntries int64  `toml:"tamper_log_max_entries"`
}

type Ecosystem struct {
	Host   EcoHost   `toml:"host"`
	Audit  EcoAudit  `toml:"audit"`
	Policy EcoPolicy `toml:"policy"`
	Models EcoModels `toml:"models"`
}

type EcoHost struct {
	Enable    bool     `toml:"enable"`
	MountAt   string   `toml:"mount_at"`
	Providers []string `toml:"providers"`
}

type EcoAudit struct {
	Enable               bool  `toml:"enable"`
	JournalMaxBytes      int64 `toml:"journal_max_bytes"`
	JournalPayloadBytes  int64 `toml:"journal_payload_max_bytes"`
	DecisionsMaxBytes    int64 `toml:"decisions_max_bytes"`
	ReplayEnable         bool  `toml:"replay_enable"`
	ReplayMaxEntries     int64 `toml:"replay_max_entries"`
	ReplayCtlMaxBytes    int64 `toml:"replay_ctl_max_bytes"`
	ReplayStatusMaxBytes int64 `toml:"replay_status_max_bytes"`
}

type EcoPolicy struct {
	Enable          bool         `toml:"enable"`
	QueueMaxEntries int64        `toml:"queue_max_entries"`
	QueueMaxBytes   int64        `toml:"queue_max_bytes"`
	CtlMaxBytes     int64        `toml:"ctl_max_bytes"`
	StatusMaxBytes  int64        `toml:"status_max_bytes"`
	Rules           []PolicyRule `toml:"rules"`
}

type PolicyRule struct {
	ID     string `toml:"id"`
	Target string `toml:"target"`
}

type EcoModels struct {
	Enable bool `toml:"enable"`
}

// GPU is a Go-port section: the bounds of the /gpu namespace the host
// bridge publishes (spec/gpu-telemetry.md §1-§4, namespace.md §5).
type GPU struct {
	IDMaxBytes              int64 `toml:"id_max_bytes"`
	BridgePayloadMaxBytes   int64 `toml:"bridge_payload_max_bytes"`
	BridgeLogMaxBytes       int64 `toml:"bridge_log_max_bytes"`
	BridgeStatusMaxBytes    int64 `toml:"bridge_status_max_bytes"`
	CtlMaxBytes             int64 `toml:"ctl_max_bytes"`
	LeaseMaxBytes           int64 `toml:"lease_max_bytes"`
	StatusMaxBytes          int64 `toml:"status_max_bytes"`
	JobMaxBytes             int64 `toml:"job_max_bytes"`
	ModelIDMaxBytes         int64 `toml:"model_id_max_bytes"`
	ModelManifestMaxBytes   int64 `toml:"model_manifest_max_bytes"`
	ActiveMaxBytes          int64 `toml:"active_max_bytes"`
	SchemaMaxBytes          int64 `toml:"schema_max_bytes"`
	TelemetryRecordMaxBytes int64 `toml:"telemetry_record_max_bytes"`
	LoraJobsMax             int64 `toml:"lora_jobs_max"`
}
