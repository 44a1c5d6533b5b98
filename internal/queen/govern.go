package queen

import (
	"github.com/cohesix/cohesix/generated"
)

// GovConfig is the manifest's share for governance: sessions, PolicyFS,
// AuditFS and ReplayFS (spec namespace §7-§8).
type GovConfig struct {
	MaxSessions int
	WalkDepth   int

	PolicyEnable    bool
	PolicyRules     []PolicyRule
	QueueMaxEntries int
	QueueMaxBytes   int
	CtlMaxBytes     int
	StatusMaxBytes  int
	// The /policy/preflight UI providers (ui_providers.policy_preflight).
	PreflightReq, PreflightDiff bool

	AuditEnable          bool
	JournalMaxBytes      int
	DecisionsMaxBytes    int
	ReplayEnable         bool
	ReplayMaxEntries     int
	ReplayCtlMaxBytes    int
	ReplayStatusMaxBytes int
}

// PolicyRule is one manifest rule: writes to a matching path need an
// approval.
type PolicyRule struct {
	ID     string `json:"id"`
	Target string `json:"target"`
}

// DefaultGov reads the governance limits from the generated tables.
func DefaultGov() GovConfig {
	g := GovConfig{
		MaxSessions:          generated.QueenMaxSessions,
		WalkDepth:            generated.Secure9pWalkDepth,
		PolicyEnable:         generated.EcosystemPolicyEnable,
		QueueMaxEntries:      generated.EcosystemPolicyQueueMaxEntries,
		QueueMaxBytes:        generated.EcosystemPolicyQueueMaxBytes,
		CtlMaxBytes:          generated.EcosystemPolicyCtlMaxBytes,
		StatusMaxBytes:       generated.EcosystemPolicyStatusMaxBytes,
		PreflightReq:         generated.UiProvidersPolicyPreflightReq,
		PreflightDiff:        generated.UiProvidersPolicyPreflightDiff,
		AuditEnable:          generated.EcosystemAuditEnable,
		JournalMaxBytes:      generated.EcosystemAuditJournalMaxBytes,
		DecisionsMaxBytes:    generated.EcosystemAuditDecisionsMaxBytes,
		ReplayEnable:         generated.EcosystemAuditReplayEnable,
		ReplayMaxEntries:     generated.EcosystemAuditReplayMaxEntries,
		ReplayCtlMaxBytes:    generated.EcosystemAuditReplayCtlMaxBytes,
		ReplayStatusMaxBytes: generated.EcosystemAuditReplayStatusMaxBytes,
	}
	for _, r := range generated.EcosystemPolicyRules {
		g.PolicyRules = append(g.PolicyRules, PolicyRule{ID: r.Id, Target: r.Target})
	}
	return g
}

// govState is the governance share of State; Apply changes it through the
// handlers in sessions.go, policy.go and audit.go.
type govState struct {
	init      bool
	pending   [][]byte // records for the store from the current command (persist.go)
	restoring bool
	sessions  sessionTable
	policy    policyState
	audit     auditState
}

func (s *State) govInit() {
	if s.gov.init {
		return
	}
	s.gov.init = true
	s.gov.sessions.active = true
	s.gov.sessions.lastSeenMs = s.bootMs
	s.gov.audit.replay = `{"state":"idle"}`
}

// Gov is the governance share of a Snapshot.
type Gov struct {
	Root      RootState
	Sessions  []SessionInfo
	Actions   []Action
	PolicyCtl []byte
	Journal   Ring // /audit/journal bytes and base offset
	Decisions Ring
	Seq       uint64
	Replay    string // /replay/status
	ReplayLog Ring   // /replay/ctl bytes
}

func (s *State) govSnapshot() Gov {
	s.govInit()
	return Gov{
		Root:      s.Root(),
		Sessions:  s.gov.sessions.list,
		Actions:   s.gov.policy.actions,
		PolicyCtl: s.gov.policy.ctl,
		Journal:   s.gov.audit.journal,
		Decisions: s.gov.audit.decisions,
		Seq:       s.gov.audit.seq,
		Replay:    s.gov.audit.replay,
		ReplayLog: s.gov.audit.replayLog,
	}
}

// Gov returns the governance configuration the queen runs with; the
// namespace builds /policy, /actions, /audit and /replay from it.
func (q *Queen) Gov() GovConfig { return q.cfg.Gov }

// Governed returns Default with PolicyFS, AuditFS and ReplayFS on: the
// governance the production profile enforces (DECISIONS D10), with every
// limit and rule from the compiled manifest (DECISIONS P26). Tests and the
// regression pack's "# profile: governed" scripts run against it.
func Governed() Config {
	cfg := Default()
	cfg.Gov.PolicyEnable, cfg.Gov.AuditEnable, cfg.Gov.ReplayEnable = true, true, true
	cfg.Gov.PreflightReq, cfg.Gov.PreflightDiff = true, true // PolicyFS's UI providers with it
	// Updates are governed too: /updates and /models on, deltas allowed,
	// every manifest signed by the root key or its keyset (DECISIONS P49).
	cfg.CAS.Enable, cfg.CAS.ModelsEnable, cfg.CAS.DeltaEnable, cfg.CAS.SigningRequired = true, true, true, true
	return cfg
}
