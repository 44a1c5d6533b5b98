package ticket

import (
	"fmt"
	"strings"
)

// ValidateForAttach is the client-side ticket check before attach (spec §4
// "Client side"); a failure stays local and nothing is sent. The token is
// trimmed and an empty one is absent. maxLen <= 0 means MaxTokenLen.
//
//   - queen: a ticket is optional; if present it must be within maxLen
//     and decode (claims only, the MAC is not checked).
//   - worker roles: a ticket is required, within maxLen, decodable, its
//     role must equal role and it must carry a subject.
//
// The messages are the spec's; a decode failure is wrapped, so errors.Is
// finds its sentinel.
func ValidateForAttach(role Role, token string, maxLen int) error {
	if maxLen <= 0 {
		maxLen = MaxTokenLen
	}
	token = strings.TrimSpace(token)
	if token == "" {
		if role.IsWorker() {
			return fmt.Errorf("role %s requires a non-empty ticket payload", role)
		}
		return nil
	}
	if len(token) > maxLen {
		return fmt.Errorf("ticket payload exceeds %d bytes", maxLen)
	}
	c, err := Parse(token)
	if err != nil {
		return fmt.Errorf("ticket is not a valid claims token: %w", err)
	}
	if !role.IsWorker() {
		return nil
	}
	if c.Role != role {
		return fmt.Errorf("ticket role %s does not match requested role %s", c.Role, role)
	}
	if c.Subject == "" {
		return fmt.Errorf("ticket for role %s must include a subject identity", role)
	}
	return nil
}
