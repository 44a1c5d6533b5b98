package manifest

// Defaults returns the value of every key that a manifest may omit: the
// spec/manifest.md defaults, and for the Go-port sections the dev manifest's
// values. List-valued defaults are applied after decoding (see applyListDefaults)
// because TOML arrays replace, not merge.
func Defaults() *Manifest {
	return &Manifest{
		Profile:   Profile{Name: "dev"},
		EventPump: EventPump{TickMs: 5, MemoryBudgetBytes: 32768, ProcsIdle: 0, ProcsUpPermille: 250, ProcsDownPermille: 200, ProcsDownSamples: 4, ProcsSampleMs: 500},
		Console: Console{
			LineMaxBytes:             256,
			RoleMax:                  16,
			TicketMax:                224,
			PathMax:                  96,
			JSONMax:                  192,
			WorkerIDMax:              32,
			EchoMax:                  128,
			AckMaxBytes:              256,
			CatSummaryMaxBytes:       128,
			CatSummaryLineMaxBytes:   64,
			B64LineMax:               252,
			FrameMaxBytes:            8192,
			InboundQueueDepth:        8,
			AuthToken:                "changeme",
			AuthTimeoutMs:            5000,
			IdleTimeoutMs:            300000,
			AttachBackoffBaseMs:      250,
			AttachBackoffMaxExponent: 8,
			AttachLockoutFailures:    3,
			AttachLockoutWindowMs:    60000,
			AttachLockoutCooldownMs:  90000,
			CachelogDefault:          64,
		},
		Network: Network{
			ConsoleListen:    "127.0.0.1:31337",
			Secure9PListen:   "127.0.0.1:5640",
			Sel4ConsolePort:  31337,
			Sel4Secure9PPort: 564,
			Sel4IPv4:         "",
			Sel4IPv4Gateway:  "",

			MaxConnsPerPeer:       32,
			HandshakeTimeoutMs:    5000,
			Secure9PIdleTimeoutMs: 86400000,
			AcceptBackoffMaxMs:    1000,
			PeerTableMax:          1024,
			AuditSummaryWindowMs:  10000,
		},
		Queen: Queen{
			InboxDepth:            64,
			MaxWorkers:            8,
			MaxBindsPerSession:    8,
			LogRingLines:          512,
			LogLineMaxBytes:       256,
			HeartbeatIntervalMs:   100,
			HeartbeatDefaultTicks: 1000,
			HeartbeatDefaultOps:   10000,
			HeartbeatDefaultTTLS:  300,
			MaxSessions:           64,
			GPUDefaultOps:         64,
			GPUDefaultTTLS:        120,
			MemoryBudgetBytes:     268435456,
			FsyncBatchMax:         64,
		},
		Scripts: Scripts{
			MaxStatements:       256,
			WaitMaxMs:           2000,
			TestTimeoutDefaultS: 30,
			TestTimeoutMaxS:     120,
			FailureHistory:      8,
		},
		Secure9P: Secure9P{
			Msize:                 8192,
			WalkDepth:             8,
			WalkComponentMaxBytes: 64,
			TagsPerSession:        16,
			FidsPerSession:        1024,
			BatchFrames:           1,
			ShortWrite:            ShortWrite{Policy: "reject", RetryAttempts: 3, RetryBaseMs: 5},
		},
		CAS: CAS{
			Store: CASStore{ChunkBytes: 128, MaxChunks: 8, BudgetBytes: 1024, Backing: "memory", MaxUpdates: 8, MaxModels: 8, ModelMaxBytes: 128, PendingMax: 8, QuarantineMax: 8},
		},
		Namespaces: Namespaces{RoleIsolation: true},
		Telemetry:  Telemetry{RingBytesPerWorker: 1024, FrameSchema: "legacy-plaintext"},
		TelemetryIngest: TelemetryIngest{
			MaxSegmentsPerDevice:   4,
			MaxBytesPerSegment:     32768,
			MaxTotalBytesPerDevice: 131072,
			MaxRecordBytes:         4096,
			EvictionPolicy:         "evict-oldest",
		},
		Lifecycle: Lifecycle{InitialState: "BOOTING"},
		Observability: Observability{
			Proc9P: Proc9P{SessionsBytes: 1024, OutstandingBytes: 128, ShortWritesBytes: 128},
			Proc9PSession: Proc9PSession{
				ActiveBytes: 128, StateBytes: 64, SinceMsBytes: 64, OwnerBytes: 96,
			},
			ProcIngest: ProcIngest{
				P50MsBytes: 64, P95MsBytes: 64, BackpressureBytes: 64, DroppedBytes: 64, QueuedBytes: 64,
				WatchMaxEntries: 16, WatchLineBytes: 192, WatchMinIntervalMs: 50,
				LatencySamples: 32, LatencyToleranceMs: 5, CounterTolerance: 1,
			},
			ProcRoot:     ProcRoot{ReachableBytes: 32, LastSeenMsBytes: 64, CutReasonBytes: 64},
			ProcPressure: ProcPressure{BusyBytes: 64, QuotaBytes: 64, CutBytes: 64, PolicyBytes: 64},
			ProcSchedule: ProcSchedule{SummaryBytes: 128, QueueLineBytes: 256, QueueMaxEntries: 8},
			ProcLease:    ProcLease{SummaryBytes: 160, ActiveLineBytes: 256, ActiveMaxEntries: 16},
		},
		ClientPolicies: ClientPolicies{
			Cohsh: CohshPolicy{
				Pool:          CohshPool{ControlSessions: 2, TelemetrySessions: 4},
				Tail:          CohshTail{PollMsDefault: 1000, PollMsMin: 250, PollMsMax: 10000},
				HostTelemetry: CohshHostTelemetry{NvidiaPollMs: 1000, SystemdPollMs: 2000, DockerPollMs: 2000, K8sPollMs: 5000},
			},
			Coh: CohPolicy{
				Mount: CohMount{Root: "/"},
				Telemetry: CohTelemetry{
					Root: "/queen/telemetry", MaxDevices: 32,
					MaxSegmentsPerDevice: 4, MaxBytesPerSegment: 32768, MaxTotalBytesPerDevice: 131072,
				},
				Run: CohRun{
					Lease:      CohLease{Schema: "gpu-lease/v1", ActiveState: "ACTIVE", MaxBytes: 1024},
					Breadcrumb: CohBreadcrumb{Schema: "gpu-breadcrumb/v1", MaxLineBytes: 512, MaxCommandBytes: 256},
				},
				Peft: CohPeft{
					Export: PeftExport{Root: "/queen/export/lora_jobs", MaxTelemetryBytes: 131072, MaxPolicyBytes: 8192, MaxBaseModelBytes: 1024},
					Import: PeftImport{
						RegistryRoot: "out/model_registry", MaxAdapterBytes: 67108864,
						MaxLoraBytes: 65536, MaxMetricsBytes: 65536, MaxManifestBytes: 8192,
					},
					Activate: PeftActivate{MaxModelIDBytes: 128, MaxStateBytes: 4096},
				},
			},
			Retry:     RetryPolicy{MaxAttempts: 3, BackoffMs: 200, CeilingMs: 2000, TimeoutMs: 5000},
			Heartbeat: HeartbeatPolicy{IntervalMs: 15000, Msize: 1024},
			Trace:     TracePolicy{MaxBytes: 1048576},
		},
		ClientPaths: ClientPaths{
			QueenCtl: "/queen/ctl", QueenLifecycleCtl: "/queen/lifecycle/ctl", Log: "/log/queen.log",
		},
		UIProviders: UIProviders{ProcUI: UIProcUI{PageWorkers: 64, PageBytes: 8192}, CBORMaxBytes: 32768},
		SwarmUI: SwarmUI{
			Bind: "127.0.0.1:8090", SessionsMax: 64, SessionsPerSubject: 4, SessionIdleS: 900, RatePerS: 50, PushMs: 200,
			TicketScope: "per-ticket",
			Cache:       SwarmUICache{MaxBytes: 262144, TTLS: 3600},
			Hive: SwarmUIHive{
				FrameCapFps: 60, StepMs: 16, LodZoomOut: 0.7, LodZoomIn: 1.25,
				LodEventBudget: 512, SnapshotMaxEvents: 4096, OverlayLines: 3, DetailLines: 50,
				LineCapBytes: 160, PerWorkerBytes: 2048,
			},
			Paths: SwarmUIPaths{TelemetryRoot: "/worker", WorkerRoot: "/worker", ProcIngestRoot: "/proc/ingest"},
		},
		Gateway: Gateway{
			Bind: "127.0.0.1:8080", MaxBodyBytes: 4096, MaxReadBytes: 32768, TailMaxLines: 256,
			ReadHeaderTimeoutMs: 5000, IdleTimeoutMs: 60000, MaxConnsPerPeer: 256,
			UpstreamSessionsMax: 16, UpstreamIdleMs: 60000, ReconnectBackoffMs: 200, ReconnectCeilingMs: 5000,
			GCPercent: 400, MemoryLimitBytes: 48 << 20,
			Broker: GatewayBroker{ControlQueue: 64, TelemetryQueue: 64, Workers: 8, ControlWeight: 4, DeadlineMs: 10000},
			Cache:  GatewayCache{TTLMs: 250, MaxEntries: 256},
		},
		TicketLimits: TicketLimits{
			MaxScopes: 8, MaxScopePathLen: 128, MaxScopeRatePerS: 64,
			BandwidthBytes: 131072, CursorResumes: 16, CursorAdvances: 256, RateWindowMs: 1000, ClockSkewMs: 30000,
		},
		GPU: GPU{
			IDMaxBytes: 32, BridgePayloadMaxBytes: 131072, BridgeLogMaxBytes: 131072, BridgeStatusMaxBytes: 512,
			CtlMaxBytes: 1024, LeaseMaxBytes: 1024, StatusMaxBytes: 32768, JobMaxBytes: 32768,
			ModelIDMaxBytes: 128, ModelManifestMaxBytes: 8192, ActiveMaxBytes: 4096, SchemaMaxBytes: 4096,
			TelemetryRecordMaxBytes: 4096, LoraJobsMax: 16,
		},
		Sidecars: Sidecars{
			Modbus: BusSidecar{MountAt: "/bus"},
			DNP3:   BusSidecar{MountAt: "/bus"},
			Lora:   LoraSidecar{MountAt: "/lora"},
		},
		Ecosystem: Ecosystem{
			Host: EcoHost{MountAt: "/host"},
			Audit: EcoAudit{
				JournalMaxBytes: 8192, JournalPayloadBytes: 512, DecisionsMaxBytes: 4096, ReplayMaxEntries: 64,
				ReplayCtlMaxBytes: 1024, ReplayStatusMaxBytes: 1024,
			},
			Policy: EcoPolicy{QueueMaxEntries: 32, QueueMaxBytes: 4096, CtlMaxBytes: 2048, StatusMaxBytes: 512},
		},
		Persistence: Persistence{
			BlockBytes:      512,
			GovernanceBytes: 4 << 20,
			IngestBytes:     32 << 20,
			Spool:           PersistenceSpool{Mode: "refuse", MaxBytes: 1048576, MaxRecordBytes: 4096},
			Settings:        PersistenceSettings{PageBytes: 4096, MaxKeyBytes: 64, MaxValueBytes: 1024},
		},
	}
}

// Defaults for array elements and lists, applied after decoding.
var (
	defaultAutoTransitions = []Transition{{From: "BOOTING", To: "ONLINE"}}
	defaultAllowlist       = []string{"/proc", "/queen", "/worker", "/log", "/gpu", "/host"}
	defaultNamespaceRoots  = []string{"/proc", "/queen", "/worker", "/log", "/gpu"}
	// The dev profile trusts a gateway on loopback (DECISIONS P48).
	defaultTrustedForwarders = []string{"127.0.0.1", "::1"}
	defaultSpool             = BusSpool{MaxEntries: 32, MaxBytes: 4096}
)
