package ticket

import (
	"errors"
	"testing"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Role
		err  error
	}{
		{"queen", "queen", RoleQueen, nil},
		{"queen upper", "QUEEN", RoleQueen, nil},
		{"worker alias", "worker", RoleWorkerHeartbeat, nil},
		{"worker alias mixed case", "Worker", RoleWorkerHeartbeat, nil},
		{"worker-heartbeat", "worker-heartbeat", RoleWorkerHeartbeat, nil},
		{"worker-gpu", "Worker-GPU", RoleWorkerGPU, nil},
		{"worker-bus", "worker-bus", RoleWorkerBus, nil},
		{"worker-lora", "WORKER-LORA", RoleWorkerLora, nil},
		{"observer not a ticket role", "observer", 0, ErrUnknownRole},
		{"empty", "", 0, ErrUnknownRole},
		{"padded", " queen", 0, ErrUnknownRole},
		{"underscore", "worker_gpu", 0, ErrUnknownRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			if !errors.Is(err, tt.err) || (tt.err == nil && got != tt.want) {
				t.Errorf("ParseRole(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestRoleString(t *testing.T) {
	tests := []struct {
		role   Role
		want   string
		worker bool
	}{
		{RoleQueen, "queen", false},
		{RoleWorkerHeartbeat, "worker-heartbeat", true},
		{RoleWorkerGPU, "worker-gpu", true},
		{RoleWorkerBus, "worker-bus", true},
		{RoleWorkerLora, "worker-lora", true},
		{Role(5), "role(5)", false},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.role.String(); got != tt.want {
				t.Errorf("Role(%d).String() = %q; want %q", uint8(tt.role), got, tt.want)
			}
			if got := tt.role.IsWorker(); got != tt.worker {
				t.Errorf("Role(%d).IsWorker() = %v; want %v", uint8(tt.role), got, tt.worker)
			}
			if tt.role.Valid() {
				if got, err := ParseRole(tt.want); err != nil || got != tt.role {
					t.Errorf("ParseRole(%q) = %v, %v; want %v, nil", tt.want, got, err, tt.role)
				}
			}
		})
	}
}

func TestVerb(t *testing.T) {
	tests := []struct {
		verb Verb
		want string
	}{
		{VerbRead, "read"},
		{VerbWrite, "write"},
		{VerbReadWrite, "read-write"},
		{Verb(3), "verb(3)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.verb.String(); got != tt.want {
				t.Errorf("Verb(%d).String() = %q; want %q", uint8(tt.verb), got, tt.want)
			}
			got, err := ParseVerb(tt.want)
			if tt.verb > VerbReadWrite {
				if !errors.Is(err, ErrInvalidScopeVerb) {
					t.Errorf("ParseVerb(%q) = %v, %v; want ErrInvalidScopeVerb", tt.want, got, err)
				}
				return
			}
			if err != nil || got != tt.verb {
				t.Errorf("ParseVerb(%q) = %v, %v; want %v, nil", tt.want, got, err, tt.verb)
			}
		})
	}
}

func TestVerbAllows(t *testing.T) {
	tests := []struct {
		scope, req Verb
		want       bool
	}{
		{VerbRead, VerbRead, true},
		{VerbRead, VerbWrite, false},
		{VerbRead, VerbReadWrite, false},
		{VerbWrite, VerbRead, false},
		{VerbWrite, VerbWrite, true},
		{VerbWrite, VerbReadWrite, false},
		{VerbReadWrite, VerbRead, true},
		{VerbReadWrite, VerbWrite, true},
		{VerbReadWrite, VerbReadWrite, true},
		{Verb(3), VerbRead, false},
		{VerbReadWrite, Verb(3), false},
	}
	for _, tt := range tests {
		t.Run(tt.scope.String()+"/"+tt.req.String(), func(t *testing.T) {
			if got := tt.scope.Allows(tt.req); got != tt.want {
				t.Errorf("%v.Allows(%v) = %v; want %v", tt.scope, tt.req, got, tt.want)
			}
		})
	}
}
