package ticket

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateForAttach(t *testing.T) {
	hb := mint(t, exampleClaims, "worker")
	gpu := mint(t, Claims{Role: RoleWorkerGPU, Subject: "gpu-1"}, "worker-gpu")
	noSubject := mint(t, Claims{Role: RoleWorkerBus}, "worker-bus")
	queen := mint(t, Claims{Role: RoleQueen}, "bootstrap")
	long := mint(t, Claims{Role: RoleWorkerLora, Subject: strings.Repeat("s", 100)}, "worker-lora")
	tests := []struct {
		name   string
		role   Role
		token  string
		maxLen int
		want   string // "" = nil
		is     error
	}{
		{"queen without ticket", RoleQueen, "", 224, "", nil},
		{"queen blank ticket", RoleQueen, "  \t", 224, "", nil},
		{"queen with queen ticket", RoleQueen, queen, 224, "", nil},
		{"queen with bad mac passes locally", RoleQueen, flipHex(queen, len(queen)-1), 224, "", nil},
		{"queen with garbage", RoleQueen, "hello", 224,
			"ticket is not a valid claims token: ticket: missing cohesix-ticket- prefix", ErrMissingPrefix},
		{"queen with worker ticket", RoleQueen, hb, 224, "", nil},
		{"worker without ticket", RoleWorkerHeartbeat, "", 224,
			"role worker-heartbeat requires a non-empty ticket payload", nil},
		{"gpu blank ticket", RoleWorkerGPU, " \n", 224,
			"role worker-gpu requires a non-empty ticket payload", nil},
		{"worker good", RoleWorkerHeartbeat, hb, 224, "", nil},
		{"worker good padded", RoleWorkerHeartbeat, "  " + hb + "\n", 224, "", nil},
		{"gpu good", RoleWorkerGPU, gpu, 224, "", nil},
		{"too long", RoleWorkerLora, long, 224, "ticket payload exceeds 224 bytes", nil},
		{"too long custom max", RoleWorkerHeartbeat, hb, 100, "ticket payload exceeds 100 bytes", nil},
		{"max 0 means 224", RoleWorkerLora, long, 0, "ticket payload exceeds 224 bytes", nil},
		{"exactly max", RoleWorkerHeartbeat, hb, len(hb), "", nil},
		{"not a token", RoleWorkerHeartbeat, "cohesix-ticket-zz", 224,
			"ticket is not a valid claims token: ticket: malformed token: no '.' between payload and mac", ErrMalformedToken},
		{"bad payload", RoleWorkerHeartbeat, Prefix + "02." + strings.Repeat("00", MacLen), 224,
			"ticket is not a valid claims token: ticket: unsupported claims version 2", ErrUnsupportedVersion},
		{"role mismatch", RoleWorkerGPU, hb, 224,
			"ticket role worker-heartbeat does not match requested role worker-gpu", nil},
		{"queen ticket for worker", RoleWorkerHeartbeat, queen, 224,
			"ticket role queen does not match requested role worker-heartbeat", nil},
		{"no subject", RoleWorkerBus, noSubject, 224,
			"ticket for role worker-bus must include a subject identity", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateForAttach(tt.role, tt.token, tt.maxLen)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidateForAttach(%v, %q, %d) = %q; want %q", tt.role, tt.token, tt.maxLen, got, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("ValidateForAttach(%v, %q, %d) = %v; want errors.Is %v", tt.role, tt.token, tt.maxLen, err, tt.is)
			}
		})
	}
}
