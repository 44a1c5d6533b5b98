package ticket

import (
	"fmt"
	"strings"
)

// Role is a hive role. Its value is the ticket role byte (spec §1).
type Role uint8

// The roles, valued as their ticket role byte.
const (
	RoleQueen           Role = 0
	RoleWorkerHeartbeat Role = 1
	RoleWorkerGPU       Role = 2
	RoleWorkerBus       Role = 3
	RoleWorkerLora      Role = 4
)

// maxRole is the highest role byte a payload may carry.
const maxRole = RoleWorkerLora

// roleLabels are the wire labels, indexed by role byte.
var roleLabels = [...]string{
	RoleQueen:           "queen",
	RoleWorkerHeartbeat: "worker-heartbeat",
	RoleWorkerGPU:       "worker-gpu",
	RoleWorkerBus:       "worker-bus",
	RoleWorkerLora:      "worker-lora",
}

// workerAlias is the CLI alias of worker-heartbeat.
const workerAlias = "worker"

// ParseRole parses a role wire label, ignoring case. "worker" is an alias
// of worker-heartbeat. Any other label gives an error wrapping
// ErrUnknownRole.
func ParseRole(s string) (Role, error) {
	if strings.EqualFold(s, workerAlias) {
		return RoleWorkerHeartbeat, nil
	}
	for r, l := range roleLabels {
		if strings.EqualFold(s, l) {
			return Role(r), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownRole, s)
}

// String returns the role's wire label, or "role(<n>)" for a value outside
// the table.
func (r Role) String() string {
	if r <= maxRole {
		return roleLabels[r]
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Valid reports whether r is in the role table.
func (r Role) Valid() bool { return r <= maxRole }

// IsWorker reports whether r is one of the worker roles. Worker roles need
// a ticket with a subject at attach.
func (r Role) IsWorker() bool { return r >= RoleWorkerHeartbeat && r <= maxRole }

// Verb is the access a scope grants, valued as its payload byte.
type Verb uint8

// The scope verbs.
const (
	VerbRead      Verb = 0
	VerbWrite     Verb = 1
	VerbReadWrite Verb = 2
)

var verbLabels = [...]string{
	VerbRead:      "read",
	VerbWrite:     "write",
	VerbReadWrite: "read-write",
}

// String returns "read", "write" or "read-write", or "verb(<n>)" for a
// value outside the table.
func (v Verb) String() string {
	if v <= VerbReadWrite {
		return verbLabels[v]
	}
	return fmt.Sprintf("verb(%d)", uint8(v))
}

// ParseVerb parses "read", "write" or "read-write", ignoring case. Any
// other text gives an error wrapping ErrInvalidScopeVerb.
func ParseVerb(s string) (Verb, error) {
	for v, l := range verbLabels {
		if strings.EqualFold(s, l) {
			return Verb(v), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrInvalidScopeVerb, s)
}

// Allows reports whether a scope with verb v permits a request needing
// req. read-write permits all three; a read-write request needs a
// read-write scope.
func (v Verb) Allows(req Verb) bool {
	switch v {
	case VerbReadWrite:
		return req <= VerbReadWrite
	case VerbRead, VerbWrite:
		return req == v
	}
	return false
}
