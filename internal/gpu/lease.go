package gpu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/generated"
)

// Lease is one gpu-lease/v1 line; field order is the spec's.
type Lease struct {
	Schema   string `json:"schema"`
	State    string `json:"state"`
	GPUID    string `json:"gpu_id"`
	WorkerID string `json:"worker_id"`
	MemMB    uint32 `json:"mem_mb"`
	Streams  uint8  `json:"streams"`
	TTLs     uint32 `json:"ttl_s"`
	Priority uint8  `json:"priority"`
}

// Lease schema and states.
const (
	LeaseSchema   = generated.ClientPoliciesCohRunLeaseSchema
	LeaseActive   = generated.ClientPoliciesCohRunLeaseActiveState
	LeaseReleased = "RELEASED"
)

// Line renders the lease as one JSON line with its newline.
func (l Lease) Line() []byte {
	b, _ := json.Marshal(l)
	return append(b, '\n')
}

// ParseLease decodes one gpu-lease/v1 line strictly.
func ParseLease(line []byte, lim Limits) (Lease, error) {
	var l Lease
	line = bytes.TrimSpace(line)
	if len(line) > lim.LeaseMax {
		return l, fmt.Errorf("lease line exceeds %d bytes", lim.LeaseMax)
	}
	if !decodeStrict(line, &l) {
		return l, fmt.Errorf("lease line is not a gpu-lease/v1 object")
	}
	switch {
	case l.Schema != generated.ClientPoliciesCohRunLeaseSchema:
		return l, fmt.Errorf("lease schema %q, want %s", l.Schema, generated.ClientPoliciesCohRunLeaseSchema)
	case l.State != LeaseActive && l.State != LeaseReleased:
		return l, fmt.Errorf("lease state %q", l.State)
	case !ValidID(l.GPUID, lim.IDMax), l.WorkerID == "", l.MemMB == 0, l.Streams == 0, l.TTLs == 0:
		return l, fmt.Errorf("lease fields out of range")
	}
	return l, nil
}

// CurrentLease returns the current lease of a lease file: the last
// non-empty line, when it is ACTIVE (spec gpu-telemetry §1).
func CurrentLease(file []byte, lim Limits) (Lease, bool, error) {
	if len(file) > lim.LeaseMax {
		return Lease{}, false, fmt.Errorf("lease file exceeds %d bytes", lim.LeaseMax)
	}
	lines := strings.Split(strings.TrimRight(string(file), "\n"), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return Lease{}, false, nil
	}
	l, err := ParseLease([]byte(last), lim)
	if err != nil {
		return l, false, err
	}
	return l, l.State == LeaseActive, nil
}
