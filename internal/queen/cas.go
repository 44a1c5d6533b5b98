package queen

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/errs"
)

// CASConfig is the manifest's CAS share (cas.*, ecosystem.models.enable).
// The store's bytes live outside the queen (internal/store, CAS); what the
// queen decides is the order of updates: which epochs were accepted, the
// highest one (rollback), the trusted keyset's version, which models were
// committed, and the audit lines of every refusal (DECISIONS P49).
type CASConfig struct {
	Enable          bool
	ModelsEnable    bool
	DeltaEnable     bool
	SigningRequired bool
	RootKey         []byte // Ed25519 public key trusted to sign manifests and keysets; nil: none
	ChunkBytes      int
	MaxChunks       int
	BudgetBytes     int64
	DiskBacked      bool
	MaxUpdates      int
	MaxModels       int
	ModelMaxBytes   int64
	PendingMax      int
	QuarantineMax   int
}

// DefaultCAS reads the CAS configuration from the generated tables. The
// root key is not a table: the hosted root task reads
// cas.signing.key_path (roottask --cas-root-key).
func DefaultCAS() CASConfig {
	return CASConfig{
		Enable:          generated.CasEnable,
		ModelsEnable:    generated.CasEnable && generated.EcosystemModelsEnable,
		DeltaEnable:     generated.CasDeltaEnable,
		SigningRequired: generated.CasSigningRequired,
		ChunkBytes:      generated.CasStoreChunkBytes,
		MaxChunks:       generated.CasStoreMaxChunks,
		BudgetBytes:     generated.CasStoreBudgetBytes,
		DiskBacked:      generated.CasStoreBacking == "disk",
		MaxUpdates:      generated.CasStoreMaxUpdates,
		MaxModels:       generated.CasStoreMaxModels,
		ModelMaxBytes:   generated.CasStoreModelMaxBytes,
		PendingMax:      generated.CasStorePendingMax,
		QuarantineMax:   generated.CasStoreQuarantineMax,
	}
}

// ManifestMaxBytes bounds a manifest upload: the fixed fields, a
// signature and a key id, and 34 bytes (a CBOR head and 32 bytes) per
// chunk.
func (c CASConfig) ManifestMaxBytes() int { return 512 + 34*c.MaxChunks }

// PendingBytes bounds what partial uploads hold together: one model's
// weights, pending_max chunks, and a manifest of max_chunks.
func (c CASConfig) PendingBytes() int {
	return int(c.ModelMaxBytes) + c.PendingMax*c.ChunkBytes + c.ManifestMaxBytes()
}

// CASUpdate is one accepted update manifest as /updates shows it.
type CASUpdate struct {
	Epoch         string
	Kind          string // base or delta
	PayloadSHA256 string // hex
	PayloadBytes  uint64
	Chunks        int
	ChunkBytes    int
	DeltaEpoch    string // base epoch of a delta, "" otherwise
	DeltaSHA256   string
	KeyID         string // signing key id, "" when unsigned
	Ready         bool   // every chunk committed
}

// CASModel is one committed model.
type CASModel struct {
	Digest string
	Bytes  uint64
}

// CASView is the /updates and /models share of a snapshot; it is rebuilt
// only when a CAS command changes it, so snapshots share it.
type CASView struct {
	HighWater     string // highest accepted epoch, "" when none
	KeysetVersion uint64
	Keyset        []byte // the trusted keyset's encoding, nil when none
	Updates       []CASUpdate
	Models        []CASModel
	Quarantined   []string // newest last, at most QuarantineMax
}

// Update returns the accepted update of epoch.
func (v *CASView) Update(epoch string) (CASUpdate, bool) {
	if v == nil {
		return CASUpdate{}, false
	}
	return byID(v.Updates, epoch, func(u CASUpdate) string { return u.Epoch })
}

// Model returns the committed model of digest.
func (v *CASView) Model(digest string) (CASModel, bool) {
	if v == nil {
		return CASModel{}, false
	}
	return byID(v.Models, digest, func(m CASModel) string { return m.Digest })
}

type casState struct {
	view *CASView
}

// CompareEpochs orders two epochs (1..20 ASCII digits) by value.
func CompareEpochs(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// CASAccept records an update manifest the provider validated (schema,
// limits, signature, expiry): the queen refuses it when its epoch is not
// above every accepted one (rollback) and otherwise makes it durable.
type CASAccept struct {
	Who    Who
	Update CASUpdate
}

// CASReady marks an accepted update whose every chunk is committed.
type CASReady struct {
	Who   Who
	Epoch string
}

// CASKeyset trusts a keyset the provider verified against the root key;
// refused unless its version is above the trusted one.
type CASKeyset struct {
	Who     Who
	Version uint64
	Encoded []byte
}

// CASModelCommit records a model whose weights hash to its digest.
type CASModelCommit struct {
	Who   Who
	Model CASModel
}

// CASRefuse writes the audit line of a refusal the provider decided (a
// bad chunk, a bad manifest); quarantine names what was set aside.
type CASRefuse struct {
	Who        Who
	Line       string
	Quarantine string
}

// CASResult is what an accepting command returns: the updates or models
// it evicted past the manifest's bounds, whose bytes the store drops.
type CASResult struct {
	EvictedEpochs []string
	EvictedModels []string
}

func (CASAccept) isCmd()      {}
func (CASReady) isCmd()       {}
func (CASKeyset) isCmd()      {}
func (CASModelCommit) isCmd() {}
func (CASRefuse) isCmd()      {}

func (c CASAccept) apply(s *State, _ uint64) Result      { return s.as(c.Who).casAccept(c) }
func (c CASReady) apply(s *State, _ uint64) Result       { return s.as(c.Who).casReady(c) }
func (c CASKeyset) apply(s *State, _ uint64) Result      { return s.as(c.Who).casKeyset(c) }
func (c CASModelCommit) apply(s *State, _ uint64) Result { return s.as(c.Who).casModel(c) }
func (c CASRefuse) apply(s *State, _ uint64) Result {
	s.as(c.Who).audit(c.Line)
	if c.Quarantine != "" {
		s.casQuarantine(c.Quarantine)
	}
	return Result{}
}

// casRefused audits a refusal the queen decided and lists it as
// quarantined: the provider sets the refused bytes aside.
func (s *State) casRefused(line string) {
	s.audit(line)
	s.casQuarantine(line)
}

func (s *State) casQuarantine(line string) {
	v := s.casEdit()
	v.Quarantined = append(v.Quarantined, line)
	if over := len(v.Quarantined) - s.cfg.CAS.QuarantineMax; over > 0 {
		v.Quarantined = v.Quarantined[over:]
	}
}

// casEdit returns a copy of the view to change; the snapshot taken after
// the command publishes it.
func (s *State) casEdit() *CASView {
	v := &CASView{}
	if s.cas.view != nil {
		*v = *s.cas.view
		v.Updates = slices.Clone(v.Updates)
		v.Models = slices.Clone(v.Models)
		v.Quarantined = slices.Clone(v.Quarantined)
	}
	s.cas.view = v
	return v
}

func (s *State) casAccept(c CASAccept) Result {
	u := c.Update
	v := s.cas.view
	if !s.cfg.CAS.Enable {
		return Result{Err: errs.New(errs.ErrInvalid, "cas is disabled")}
	}
	if _, ok := v.Update(u.Epoch); ok {
		return Result{Err: errs.New(errs.ErrPermission, "epoch %s is already accepted: its manifest is read-only", u.Epoch)}
	}
	if v != nil && v.HighWater != "" && CompareEpochs(u.Epoch, v.HighWater) <= 0 {
		s.casRefused(fmt.Sprintf("cas-manifest rejected epoch=%s reason=rollback highest=%s", u.Epoch, v.HighWater))
		return Result{Err: errs.New(errs.ErrPermission, "epoch %s is not above the highest accepted epoch %s (rollback refused)", u.Epoch, v.HighWater)}
	}
	if u.Kind == "delta" {
		base, ok := v.Update(u.DeltaEpoch)
		if !ok || base.Kind != "base" || base.PayloadSHA256 != u.DeltaSHA256 {
			s.casRefused(fmt.Sprintf("cas-manifest rejected epoch=%s reason=delta-base base_epoch=%s", u.Epoch, u.DeltaEpoch))
			return Result{Err: errs.New(errs.ErrInvalid, "delta base epoch %s is not an accepted base update with payload_sha256 %s", u.DeltaEpoch, u.DeltaSHA256)}
		}
	}
	res := s.casAdopt(u)
	s.persist(record{K: "cas-accept", Cas: &casRecord{Update: &u}})
	s.audit(fmt.Sprintf("cas-manifest accepted epoch=%s kind=%s payload_sha256=%s chunks=%d key=%s", u.Epoch, u.Kind, u.PayloadSHA256, u.Chunks, orNone(u.KeyID)))
	return Result{CAS: &res}
}

// casAdopt installs u as the newest accepted update, evicting the oldest
// past max_updates, except a base a kept delta still names.
func (s *State) casAdopt(u CASUpdate) CASResult {
	v := s.casEdit()
	v.Updates = append(v.Updates, u)
	v.HighWater = u.Epoch
	var res CASResult
	for len(v.Updates) > s.cfg.CAS.MaxUpdates {
		i := slices.IndexFunc(v.Updates, func(old CASUpdate) bool {
			return !slices.ContainsFunc(v.Updates, func(d CASUpdate) bool { return d.Kind == "delta" && d.DeltaEpoch == old.Epoch })
		})
		if i < 0 {
			i = 0
		}
		res.EvictedEpochs = append(res.EvictedEpochs, v.Updates[i].Epoch)
		v.Updates = slices.Delete(v.Updates, i, i+1)
	}
	return res
}

func (s *State) casReady(c CASReady) Result {
	u, ok := s.cas.view.Update(c.Epoch)
	if !ok {
		return Result{Err: errs.New(errs.ErrNotFound, "epoch %s has no accepted manifest", c.Epoch)}
	}
	if u.Ready {
		return Result{}
	}
	s.casMarkReady(c.Epoch)
	s.persist(record{K: "cas-ready", ID: c.Epoch})
	s.audit(fmt.Sprintf("cas-update ready epoch=%s payload_sha256=%s chunks=%d", u.Epoch, u.PayloadSHA256, u.Chunks))
	return Result{}
}

func (s *State) casMarkReady(epoch string) {
	v := s.casEdit()
	if i := slices.IndexFunc(v.Updates, func(u CASUpdate) bool { return u.Epoch == epoch }); i >= 0 {
		v.Updates[i].Ready = true
	}
}

func (s *State) casKeyset(c CASKeyset) Result {
	if v := s.cas.view; v != nil && c.Version <= v.KeysetVersion {
		s.audit(fmt.Sprintf("cas-keyset rejected version=%d reason=rollback trusted=%d", c.Version, v.KeysetVersion))
		return Result{Err: errs.New(errs.ErrPermission, "keyset version %d is not above the trusted version %d (rollback refused)", c.Version, v.KeysetVersion)}
	}
	s.casTrust(c.Version, c.Encoded)
	s.persist(record{K: "cas-keyset", N: c.Version, Line: hex.EncodeToString(c.Encoded)})
	s.audit(fmt.Sprintf("cas-keyset accepted version=%d bytes=%d", c.Version, len(c.Encoded)))
	return Result{}
}

func (s *State) casTrust(version uint64, encoded []byte) {
	v := s.casEdit()
	v.KeysetVersion, v.Keyset = version, slices.Clone(encoded)
}

func (s *State) casModel(c CASModelCommit) Result {
	if !s.cfg.CAS.ModelsEnable {
		return Result{Err: errs.New(errs.ErrInvalid, "models are disabled (ecosystem.models.enable)")}
	}
	if _, ok := s.cas.view.Model(c.Model.Digest); ok {
		return Result{}
	}
	res := s.casAddModel(c.Model)
	s.persist(record{K: "cas-model", ID: c.Model.Digest, N: c.Model.Bytes})
	s.audit(fmt.Sprintf("cas-model committed sha256=%s bytes=%d", c.Model.Digest, c.Model.Bytes))
	return Result{CAS: &res}
}

func (s *State) casAddModel(m CASModel) CASResult {
	v := s.casEdit()
	v.Models = append(v.Models, m)
	var res CASResult
	for len(v.Models) > s.cfg.CAS.MaxModels {
		res.EvictedModels = append(res.EvictedModels, v.Models[0].Digest)
		v.Models = slices.Delete(v.Models, 0, 1)
	}
	return res
}

// casRecord is the CAS part of a durable record.
type casRecord struct {
	Update *CASUpdate `json:"update,omitempty"`
}

// restoreCAS replays a CAS record; false for a malformed one.
func (s *State) restoreCAS(r record) bool {
	switch r.K {
	case "cas-accept":
		if r.Cas == nil || r.Cas.Update == nil {
			return false
		}
		s.casAdopt(*r.Cas.Update)
	case "cas-ready":
		s.casMarkReady(r.ID)
	case "cas-keyset":
		b, err := hex.DecodeString(r.Line)
		if err != nil {
			return false
		}
		s.casTrust(r.N, b)
	case "cas-model":
		s.casAddModel(CASModel{Digest: r.ID, Bytes: r.N})
	default:
		return false
	}
	return true
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// casModelAvailable reports whether id is the digest of a committed CAS
// model while models are enabled: a model is named by its bare SHA-256
// (as under /models) in /gpu/models/available, /gpu/models/active and
// coh peft activate (DECISIONS P49).
func (s *State) casModelAvailable(id string) bool {
	if !s.cfg.CAS.ModelsEnable {
		return false
	}
	_, ok := s.cas.view.Model(id)
	return ok
}
