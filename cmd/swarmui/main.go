// Command swarmui is SwarmUI's server (docs/SWARMUI.md): the live hive in
// a browser, served from assets embedded at build time, talking to the
// hive over Secure9P and its console, or through hive-gateway, with the
// ticket the browser logged in with.
//
//	swarmui [--bind ADDR] [--allow-non-loopback] [--tls-cert FILE --tls-key FILE]
//	        [--hive-9p ADDR] [--console ADDR] [--gateway URL [--rest-auth-token T]]
//	        [--replay FILE]
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when serving
// failed, 2 a configuration it refuses to start with.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/cliexit"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/swarmui"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const appHelp = `Usage: {{.HelpName}} [flags]

{{.Usage}}

Flags:{{range .VisibleFlags}}
  {{.}}{{end}}
`

func init() {
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "Show help"}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:                  "swarmui",
		CustomAppHelpTemplate: appHelp,
		HideHelpCommand:       true,
		Usage:                 "SwarmUI: the live hive in a browser; see docs/SWARMUI.md",
		Writer:                stdout,
		ErrWriter:             stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bind", Value: generated.SwarmuiBind, Usage: "Listen address", EnvVars: []string{"SWARMUI_BIND"}},
			&cli.BoolFlag{Name: "allow-non-loopback", Usage: "RISK: allow a --bind that is not loopback (use TLS)", EnvVars: []string{"SWARMUI_ALLOW_NON_LOOPBACK"}},
			&cli.StringFlag{Name: "tls-cert", Usage: "Serve HTTPS with this certificate (PEM)", EnvVars: []string{"SWARMUI_TLS_CERT"}},
			&cli.StringFlag{Name: "tls-key", Usage: "The key of --tls-cert (PEM)", EnvVars: []string{"SWARMUI_TLS_KEY"}},
			&cli.StringFlag{Name: "hive-9p", Value: generated.NetworkSecure9pListen, Usage: "The hive's Secure9P address", EnvVars: []string{"SWARMUI_HIVE_9P"}},
			&cli.StringFlag{Name: "console", Value: generated.NetworkConsoleListen, Usage: "The hive's TCP console (the console panel)", EnvVars: []string{"SWARMUI_CONSOLE"}},
			&cli.StringFlag{Name: "gateway", Usage: "Reach the hive through hive-gateway at this URL, with each login's ticket as its delegated identity", EnvVars: []string{"SWARMUI_GATEWAY"}},
			&cli.StringFlag{Name: "rest-auth-token", Usage: "The gateway's request-auth token (else HIVE_GATEWAY_REQUEST_AUTH_TOKEN, COH_REST_AUTH_TOKEN, COHSH_REST_AUTH_TOKEN)"},
			&cli.StringFlag{Name: "replay", Usage: "Serve a .trace or snapshot file instead of a live hive (offline)"},
		},
		Action: func(c *cli.Context) error {
			tok, _ := gatewayapi.Resolve(c.String("rest-auth-token"), gatewayapi.TokenEnv)
			cfg := swarmui.Config{
				Bind: c.String("bind"), AllowNonLoopback: c.Bool("allow-non-loopback"),
				TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key"),
				Hive9P: c.String("hive-9p"), ConsoleAddr: c.String("console"), Gateway: c.String("gateway"),
				GatewayToken: tok,
				ConsoleToken: os.Getenv("COHSH_AUTH_TOKEN"),
				Replay:       c.String("replay"), Assets: assets(), Log: stderr,
			}
			if err := cfg.Check(); err != nil {
				return cliexit.Fail(cliexit.Usage, "swarmui: %v", err)
			}
			s, err := swarmui.New(cfg)
			if err != nil {
				return cliexit.Fail(cliexit.Usage, "swarmui: %v", err)
			}
			defer s.Close()
			if err := s.Run(ctx); err != nil {
				return cliexit.Fail(cliexit.Failed, "swarmui: %v", err)
			}
			return nil
		},
	}
	return cliexit.Run(ctx, app, args, stderr)
}
