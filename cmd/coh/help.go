package main

import "github.com/urfave/cli/v2"

// Help text in the STYLE §7 shape: the first line is
// "Usage: coh <sub> ...", then the one-line summary, then flags or
// subcommands. The usage walk test (usage_test.go) holds every command to it.
func init() {
	cli.AppHelpTemplate = `Usage: {{.HelpName}} [global flags] <command> [flags] [args]

{{.Usage}}

Commands:{{range .VisibleCommands}}
  {{printf "%-10s" .Name}} {{.Usage}}{{end}}

Global flags:{{range .VisibleFlags}}
  {{.}}{{end}}
`
	cmd := `Usage: {{.HelpName}}{{if .VisibleCommands}} <command>{{end}}{{if .VisibleFlags}} [flags]{{end}}{{if .ArgsUsage}} {{.ArgsUsage}}{{end}}

{{.Usage}}{{if .VisibleCommands}}

Commands:{{range .VisibleCommands}}
  {{printf "%-10s" .Name}} {{.Usage}}{{end}}{{end}}{{if .VisibleFlags}}

Flags:{{range .VisibleFlags}}
  {{.}}{{end}}{{end}}
`
	cli.CommandHelpTemplate, cli.SubcommandHelpTemplate = cmd, cmd
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "Show help"}
}

// hideHelpCommands drops urfave's implicit "help" subcommand everywhere:
// `coh <sub> --help` is the one way to ask.
func hideHelpCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		c.HideHelpCommand = true
		hideHelpCommands(c.Subcommands)
	}
}
