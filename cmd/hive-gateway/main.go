// Command hive-gateway is the hive's HTTP API (docs/GATEWAY.md): REST
// over the hive's Secure9P door, with the OpenAPI 3.1 contract at
// /v1/openapi.yaml.
//
//	hive-gateway [--bind ADDR] [--hive-9p ADDR] [--ticket T]
//	             [--request-auth-token TOK] [--require-ticket]
//	             [--allow-non-loopback] [--tls-cert FILE --tls-key FILE]
//
// The request-auth token resolves --request-auth-token, then
// HIVE_GATEWAY_REQUEST_AUTH_TOKEN, COH_REST_AUTH_TOKEN,
// COHSH_REST_AUTH_TOKEN (gatewayapi.TokenEnv), as every client does.
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when serving
// failed, 2 a configuration the gateway refuses to start with.
package main

import (
	"context"
	"github.com/cohesix/cohesix/internal/cliexit"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gateway"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

func main() {
	setCollector(os.LookupEnv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// setCollector sets the Go collector from the manifest (DECISIONS P111)
// unless the operator's environment sets GOGC or GOMEMLIMIT: a cycle once
// the heap has grown gateway.gc_percent, under the soft limit
// gateway.memory_limit_bytes. The default 100 % ran a cycle every few
// pulls of a small heap, on the path every request waits on.
func setCollector(lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(generated.GatewayGcPercent)
	}
	if _, set := lookup("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(generated.GatewayMemoryLimitBytes)
	}
}

// appHelp is the STYLE §7 shape: "Usage: hive-gateway [flags]", the
// summary, the flags.
const appHelp = `Usage: {{.HelpName}} [flags]

{{.Usage}}

Flags:{{range .VisibleFlags}}
  {{.}}{{end}}
`

func init() {
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "Show help"}
}

func run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:                  "hive-gateway",
		CustomAppHelpTemplate: appHelp,
		HideHelpCommand:       true,
		Usage:                 "The hive's HTTP API (REST over Secure9P); see docs/GATEWAY.md",
		Writer:                stdout,
		ErrWriter:             stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bind", Value: generated.GatewayBind, Usage: "Listen address", EnvVars: []string{"HIVE_GATEWAY_BIND"}},
			&cli.StringFlag{Name: "hive-9p", Value: generated.NetworkSecure9pListen, Usage: "The hive's Secure9P address", EnvVars: []string{"HIVE_GATEWAY_HIVE_9P"}},
			&cli.StringFlag{Name: "ticket", Usage: "The gateway's own capability ticket (dev profile: a minted queen ticket when unset)", EnvVars: []string{"COH_TICKET"}},
			&cli.StringFlag{Name: "request-auth-token", Usage: "Token mutating routes need (else " + gatewayapi.TokenEnv[0] + ", ...)"},
			&cli.BoolFlag{Name: "require-ticket", Usage: "Mutating routes need X-Cohesix-Ticket (always so outside the dev profile)", EnvVars: []string{"HIVE_GATEWAY_REQUIRE_TICKET"}},
			&cli.BoolFlag{Name: "allow-non-loopback", Usage: "RISK: allow a --bind that is not loopback (use TLS)", EnvVars: []string{"HIVE_GATEWAY_ALLOW_NON_LOOPBACK"}},
			&cli.StringFlag{Name: "tls-cert", Usage: "Serve HTTPS with this certificate (PEM)", EnvVars: []string{"HIVE_GATEWAY_TLS_CERT"}},
			&cli.StringFlag{Name: "tls-key", Usage: "The key of --tls-cert (PEM)", EnvVars: []string{"HIVE_GATEWAY_TLS_KEY"}},
		},
		Action: func(c *cli.Context) error {
			token, _ := gatewayapi.Resolve(c.String("request-auth-token"), gatewayapi.TokenEnv)
			cfg := gateway.Config{
				Bind: c.String("bind"), Hive9P: c.String("hive-9p"), Ticket: c.String("ticket"), Token: token,
				AllowNonLoopback: c.Bool("allow-non-loopback"), RequireTicket: c.Bool("require-ticket"),
				TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key"), Log: stderr,
			}
			if err := cfg.Check(); err != nil {
				return cliexit.Fail(cliexit.Usage, "hive-gateway: %v", err)
			}
			s, err := gateway.New(cfg)
			if err != nil {
				return cliexit.Fail(cliexit.Usage, "hive-gateway: %v", err)
			}
			defer s.Close()
			if err := s.Run(ctx); err != nil {
				return cliexit.Fail(cliexit.Failed, "hive-gateway: %v", err)
			}
			return nil
		},
	}
	return cliexit.Run(ctx, app, args, stderr)
}
