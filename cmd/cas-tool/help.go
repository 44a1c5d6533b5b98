package main

import "github.com/urfave/cli/v2"

// Help text in the STYLE §7 shape: the first line is "Usage: cas-tool
// <sub> ...", then the one-line summary, then flags. usage_test.go holds
// every command to it.
func init() {
	cli.AppHelpTemplate = `Usage: {{.HelpName}} <command> [flags] [args]

{{.Usage}}

Commands:{{range .VisibleCommands}}
  {{printf "%-8s" .Name}} {{.Usage}}{{end}}
`
	cmd := `Usage: {{.HelpName}}{{if .VisibleFlags}} [flags]{{end}}{{if .ArgsUsage}} {{.ArgsUsage}}{{end}}

{{.Usage}}{{if .VisibleFlags}}

Flags:{{range .VisibleFlags}}
  {{.}}{{end}}{{end}}
`
	cli.CommandHelpTemplate, cli.SubcommandHelpTemplate = cmd, cmd
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "Show help"}
}
