package main

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpuhost"
	"github.com/cohesix/cohesix/internal/ticket"
)

// check is one doctor line, the --json shape.
type check struct {
	Name string `json:"check"`
	OK   bool   `json:"ok"`
	Info string `json:"detail"`
	Fix  string `json:"fix,omitempty"`
}

func doctorCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "Check the manifest, ticket, mount, NVML and runtime prerequisites",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "mock", Usage: "Skip FUSE, NVML and QEMU"}, jsonFlag},
		Action: func(c *cli.Context) error {
			mock := c.Bool("mock")
			var checks []check
			add := func(name string, ok bool, info, fix string) {
				k := check{Name: name, OK: ok, Info: info}
				if !ok {
					k.Fix = fix
				}
				checks = append(checks, k)
			}
			add("policy", len(generated.ManifestSHA256) == 64, "manifest.sha256="+generated.ManifestSHA256, "run `make generate`")
			tok := c.String("ticket")
			if tok == "" {
				add("ticket", true, fmt.Sprintf("minted role=%s max_len=%d", c.String("role"), generated.ConsoleTicketMax), "")
			} else {
				_, err := ticket.Parse(tok)
				add("ticket", err == nil && len(tok) <= generated.ConsoleTicketMax, fmt.Sprintf("len=%d max_len=%d", len(tok), generated.ConsoleTicketMax), "mint a ticket with `cohsh --mint-ticket --role queen`")
			}
			if mock {
				add("mount", true, "skipped (mock)", "")
				add("nvml", true, "skipped (mock)", "")
			} else {
				_, err := os.Stat("/dev/fuse")
				add("mount", err == nil, fmt.Sprintf("allowlist=%v fuse=/dev/fuse", generated.ClientPoliciesCohMountAllowlist), "install fuse3 and load the fuse module")
				inv, err := gpuhost.Discover(nvml.New())
				info := fmt.Sprintf("gpus=%d", len(inv.GPUs))
				if err != nil {
					info = err.Error()
				}
				add("nvml", err == nil, info, "install the NVIDIA driver (libnvml.so) or pass --mock")
			}
			_, perr := exec.LookPath("python3")
			add("runtime", perr == nil, "python3", "install python3")
			if !mock {
				_, qerr := exec.LookPath("qemu-system-aarch64")
				add("runtime", qerr == nil, "qemu-system-aarch64", "install qemu-system-arm")
			}
			failed := 0
			if c.Bool("json") {
				emitJSON(e.stdout, checks)
			}
			for _, k := range checks {
				if !k.OK {
					failed++
				}
				if !c.Bool("json") {
					state := "ok"
					if !k.OK {
						state = "fail fix=" + fmt.Sprintf("%q", k.Fix)
					}
					fmt.Fprintf(e.stdout, "check=%s %s detail=%q\n", k.Name, state, k.Info)
				}
			}
			if failed > 0 {
				return fail(exitFailed, "")
			}
			return nil
		},
	}
}
