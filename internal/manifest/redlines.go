package manifest

// Red lines: the compiler-owned bounds every manifest must respect. These are
// the only place (with defaults.go) outside generated/ where manifest-owned
// limits appear as literals; scripts/check-limit-literals.sh skips this file.
const (
	// SchemaVersion is the only root_task.schema coh-rtc accepts.
	SchemaVersion = "1.5"

	// ProductionProfile is the profile.name that refuses fixture secrets
	// (DECISIONS D10).
	ProductionProfile = "production"

	maxMsize                = 8192
	maxWalkDepth            = 8
	minWalkDepthSharding    = 5
	minWalkDepthLegacyAlias = 3
	maxWalkComponentBytes   = 255
	maxTagsPerSession       = 65535
	maxShardBits            = 8
	maxMountComponents      = 8
	maxTicketSecretBytes    = 224
	maxTicketScopes         = 16
	maxScopePathLen         = 255
	frameHeaderBytes        = 4
	maxPort                 = 65535

	casDiskBudgetBytes = 1 << 40 // what a disk-backed CAS store may be given

	// Fleet bounds (DECISIONS P50). What grows with the worker count is
	// bounded by the manifest's own budgets (event_pump.memory_budget_bytes,
	// queen.memory_budget_bytes; see checkMemoryBudget); these are only the
	// absolute sanity ceilings above any budget.
	maxEventPumpBudgetBytes = 1 << 30 // what event_pump.memory_budget_bytes may set aside
	maxWorkers              = 1 << 16 // queen.max_workers
	maxProcListEntries      = maxWorkers
	// workerCostBytes is what one attached worker costs the root task besides
	// its telemetry ring: its Secure9P session (buffers, goroutines), its
	// worker and session records and its ticket enforcer. Issue 15 measured
	// about 80 KB of RSS per attached worker on 511ba8b; queen.max_workers
	// times this, plus event_pump.memory_budget_bytes, must fit
	// queen.memory_budget_bytes.
	workerCostBytes = 80 << 10
	// ringArrayFactor is what a telemetry ring of N bytes holds in memory:
	// the queen appends in place into an array of twice the ring, so that a
	// heartbeat costs its own bytes rather than a copy of the ring
	// (queen.State.appendRing).
	ringArrayFactor = 2

	sidecarBudgetBytes   = 16 << 10
	tamperEntryCostBytes = 128

	maxAutoTransitions    = 8
	maxObservabilityBytes = 8192
	maxWatchEntries       = 64
	maxLatencySamples     = 64
	maxIdentityBytes      = 64
	maxAllowlistEntries   = 16
	maxTelemetryDevices   = 256
	maxLeaseSchemaBytes   = 64
	maxLeaseStateBytes    = 16
	minHiveFps            = 30
	maxHiveFps            = 60
	maxSidecarNameBytes   = 64
	maxSpoolEntries       = 256
	maxDutyCyclePercent   = 100
	maxReplayEntries      = 256
	journalEntryOverhead  = 256 // a journal entry's fields besides its payload
	maxPolicyQueueEntries = 64
	maxPolicyRuleIDBytes  = 64
	maxBackoffExponent    = 16
	maxModelIDBytes       = 255
	// Milestone 27 stores (persistence.*): a block no larger than a page
	// of memory, a spool ring no larger than a small partition, a settings
	// page no larger than the root task reads in one go, and key/value
	// lengths that fit the page format's u16 fields.
	maxBlockBytes         = 64 << 10
	maxSpoolBytes         = 1 << 34
	maxSettingsPageBytes  = 1 << 20
	maxSettingsFieldBytes = 1<<16 - 1
)

// redLineNames lets a schema tag name a red line (min:"maxMsize"): a tag
// cannot refer to a Go constant, and limits may not be literals elsewhere.
var redLineNames = map[string]int64{
	"maxMsize":                maxMsize,
	"maxWalkDepth":            maxWalkDepth,
	"maxWalkComponentBytes":   maxWalkComponentBytes,
	"maxTagsPerSession":       maxTagsPerSession,
	"maxShardBits":            maxShardBits,
	"maxTicketScopes":         maxTicketScopes,
	"maxScopePathLen":         maxScopePathLen,
	"maxPort":                 maxPort,
	"maxWatchEntries":         maxWatchEntries,
	"maxLatencySamples":       maxLatencySamples,
	"maxTelemetryDevices":     maxTelemetryDevices,
	"maxEventPumpBudgetBytes": maxEventPumpBudgetBytes,
	"maxWorkers":              maxWorkers,
	"maxLeaseSchemaBytes":     maxLeaseSchemaBytes,
	"maxLeaseStateBytes":      maxLeaseStateBytes,
	"minHiveFps":              minHiveFps,
	"maxHiveFps":              maxHiveFps,
	"maxSpoolEntries":         maxSpoolEntries,
	"maxDutyCyclePercent":     maxDutyCyclePercent,
	"maxReplayEntries":        maxReplayEntries,
	"maxProcListEntries":      maxProcListEntries,
	"maxPolicyQueueEntries":   maxPolicyQueueEntries,
	"maxPolicyRuleIDBytes":    maxPolicyRuleIDBytes,
	"maxBackoffExponent":      maxBackoffExponent,
	"maxModelIDBytes":         maxModelIDBytes,
	"maxBlockBytes":           maxBlockBytes,
	"maxSpoolBytes":           maxSpoolBytes,
	"maxSettingsPageBytes":    maxSettingsPageBytes,
	"maxSettingsFieldBytes":   maxSettingsFieldBytes,
}

// enums are the value sets a oneof tag names, in the order diagnostics list
// them.
var enums = map[string][]string{
	"short_write_policy": {"reject", "retry"},
	"cas_backing":        {"memory", "disk"},
	"frame_schema":       {"legacy-plaintext", "cbor-v1"},
	"eviction_policy":    {"evict-oldest", "refuse"},
	"spool_mode":         {"refuse", "overwrite_acked"},
	"ticket_role":        {"queen", "worker-heartbeat", "worker-gpu", "worker-bus", "worker-lora"},
	"lifecycle_state":    {"BOOTING", "DEGRADED", "ONLINE", "DRAINING", "QUIESCED", "OFFLINE"},
	"host_provider":      {"systemd", "k8s", "docker", "nvidia", "jetson", "net"},
	"bus_link":           {"serial", "tcp"},
}

var (
	// fixtureSecrets are the dev manifest's ticket secrets and console token;
	// the production profile refuses them.
	fixtureSecrets = []string{"bootstrap", "worker", "worker-gpu", "worker-bus", "worker-lora", "changeme"}
)
