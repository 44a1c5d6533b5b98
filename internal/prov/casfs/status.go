package casfs

import (
	"encoding/hex"
	"fmt"

	"github.com/cohesix/cohesix/internal/cas"

	"github.com/fxamacker/cbor/v2"
)

// epochStatus is what /updates/<epoch>/status and status.cbor show.
type epochStatus struct {
	State                   string
	ManifestBytes           uint64
	ManifestPendingBytes    uint64
	Expected, Committed     uint64
	Pending, Missing        uint64
	PayloadBytes            uint64
	PayloadSHA256           string // hex, "" when none
	DeltaEpoch, DeltaSHA256 string
}

func (e epoch) status() epochStatus {
	st := epochStatus{State: "empty", ManifestPendingBytes: uint64(e.f.cfg.Store.Pending(e.manifestKey()))}
	if st.ManifestPendingBytes > 0 {
		st.State = "manifest_pending"
	}
	m, u, ok := e.accepted()
	if !ok {
		return st
	}
	b, _ := e.f.cfg.Store.File(e.manifestFile())
	st.ManifestBytes = uint64(len(b))
	st.Expected = uint64(distinct(m))
	st.Committed = uint64(len(e.committedNames()))
	st.Pending = uint64(len(e.f.cfg.Store.PendingKeys("chunk/" + e.name + "/")))
	st.Missing = st.Expected - st.Committed - min(st.Pending, st.Expected-st.Committed)
	st.PayloadBytes, st.PayloadSHA256 = u.PayloadBytes, u.PayloadSHA256
	st.DeltaEpoch, st.DeltaSHA256 = u.DeltaEpoch, u.DeltaSHA256
	st.State = "chunks_pending"
	if u.Ready {
		st.State = "ready"
	}
	return st
}

func none(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// statusText is the spec's five lines (namespace §9).
func (e epoch) statusText() []byte {
	st := e.status()
	return fmt.Appendf(nil, "status epoch=%s state=%s\nmanifest_bytes=%d manifest_pending_bytes=%d\nchunks_expected=%d chunks_committed=%d chunks_pending=%d chunks_missing=%d\npayload_bytes=%d payload_sha256=%s\ndelta_base_epoch=%s delta_base_sha256=%s\n",
		e.name, st.State, st.ManifestBytes, st.ManifestPendingBytes, st.Expected, st.Committed, st.Pending, st.Missing,
		st.PayloadBytes, none(st.PayloadSHA256), none(st.DeltaEpoch), none(st.DeltaSHA256))
}

var statusEnc, _ = cbor.CoreDetEncOptions().EncMode()

// statusCBOR is the same as a CBOR map with the spec's keys.
func (e epoch) statusCBOR() []byte {
	st := e.status()
	var sha any
	if b, err := hex.DecodeString(st.PayloadSHA256); err == nil && st.PayloadSHA256 != "" {
		sha = b
	}
	var delta any
	if st.DeltaEpoch != "" {
		base, _ := hex.DecodeString(st.DeltaSHA256)
		delta = map[string]any{"base_epoch": st.DeltaEpoch, "base_sha256": base}
	}
	b, _ := statusEnc.Marshal(map[string]any{
		"epoch": e.name, "state": st.State, "manifest_bytes": st.ManifestBytes, "manifest_pending_bytes": st.ManifestPendingBytes,
		"chunks_expected": st.Expected, "chunks_committed": st.Committed, "chunks_pending": st.Pending, "chunks_missing": st.Missing,
		"payload_bytes": st.PayloadBytes, "payload_sha256": sha, "delta": delta,
	})
	return b
}

// distinct counts the different chunks a manifest lists.
func distinct(m *cas.Manifest) int {
	seen := make(map[cas.Digest]bool, len(m.Chunks))
	for _, d := range m.Chunks {
		seen[d] = true
	}
	return len(seen)
}
