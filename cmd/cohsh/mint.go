package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/ticket"
	"github.com/pelletier/go-toml/v2"
)

// ticketSecret finds the role's secret: --ticket-secret, then
// $COHSH_TICKET_SECRET, then the [[tickets]] of --ticket-config or
// $COHSH_TICKET_CONFIG, then the compiled manifest.
func ticketSecret(o options, role ticket.Role, getenv func(string) string) (string, error) {
	if o.secret != "" {
		return o.secret, nil
	}
	if s := getenv("COHSH_TICKET_SECRET"); s != "" {
		return s, nil
	}
	entries := generated.Tickets
	cfg := o.ticketConfig
	if cfg == "" {
		cfg = getenv("COHSH_TICKET_CONFIG")
	}
	if cfg != "" {
		b, err := os.ReadFile(cfg)
		if err != nil {
			return "", fmt.Errorf("read ticket config: %w", err)
		}
		var doc struct {
			Tickets []generated.TicketsEntry `toml:"tickets"`
		}
		if err := toml.Unmarshal(b, &doc); err != nil {
			return "", fmt.Errorf("decode ticket config %s: %w", cfg, err)
		}
		entries = doc.Tickets
	}
	for _, e := range entries {
		if e.Role == role.String() {
			return e.Secret, nil
		}
	}
	return "", fmt.Errorf("no ticket secret configured for role %s", role)
}

// defaultClaims returns the budget a minted ticket carries for role
// (roles-tickets.md §3).
func defaultClaims(role ticket.Role, subject string, now time.Time) ticket.Claims {
	u := func(v uint64) *uint64 { return &v }
	c := ticket.Claims{Role: role, Subject: subject, IssuedAtMs: uint64(now.UnixMilli())}
	switch role {
	case ticket.RoleWorkerHeartbeat:
		c.Ticks, c.Ops, c.TTLs = u(generated.QueenHeartbeatDefaultTicks), u(generated.QueenHeartbeatDefaultOps), u(generated.QueenHeartbeatDefaultTtlS)
	case ticket.RoleWorkerGPU:
		c.Ops, c.TTLs = u(generated.QueenGpuDefaultOps), u(generated.QueenGpuDefaultTtlS)
	}
	return c
}

func mintTicket(o options, getenv func(string) string, now time.Time, stdout, stderr io.Writer) int {
	if o.role == "" {
		fmt.Fprintln(stderr, "cohsh: --mint-ticket requires --role")
		return exitUsage
	}
	role, err := ticket.ParseRole(o.role)
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: unknown role '%s'\n", o.role)
		return exitUsage
	}
	if role.IsWorker() && o.subject == "" {
		fmt.Fprintf(stderr, "cohsh: --ticket-subject is required for role %s\n", role)
		return exitUsage
	}
	secret, err := ticketSecret(o, role, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: %v\n", err)
		return exitFailed
	}
	tok, err := ticket.Mint(defaultClaims(role, o.subject, now), secret)
	if err != nil {
		fmt.Fprintf(stderr, "cohsh: mint ticket: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, tok)
	return exitOK
}
