package main

import (
	"context"
	"encoding/json"

	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gpu"
	"github.com/cohesix/cohesix/internal/gpuhost"
)

const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUnreachable = 3
)

// discover is NVML discovery; tests replace it with go-nvml's mock server.
var discover = func() (gpuhost.Inventory, error) { return gpuhost.Discover(nvml.New()) }

// bridgeFlags are gpu-bridge-host's flags.
type bridgeFlags struct {
	mock, list, publish bool
	interval            int
	registry            string
	host                string
	port                int
	token, ticket       string
}

const usage = "Usage: gpu-bridge-host [--mock] (--list | --publish [--interval-ms N] [--registry DIR] [--tcp-host H] [--tcp-port P] [--auth-token T] [--ticket T])"

func run(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	f, ok := parseFlags(args, stderr)
	if !ok {
		return exitUsage
	}
	inv := gpuhost.Mock()
	if !f.mock {
		var err error
		if inv, err = discover(); err != nil {
			fmt.Fprintf(stderr, "gpu-bridge-host: %v (no GPU here? use --mock)\n", err)
			return exitFailed
		}
	}
	if f.list {
		return list(inv, f.registry, stdout, stderr)
	}
	addr := net.JoinHostPort(f.host, strconv.Itoa(f.port))
	dctx, cancel := context.WithTimeout(ctx, time.Duration(generated.ClientPoliciesRetryTimeoutMs)*time.Millisecond)
	c, err := client.Dial(dctx, addr, f.token)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "gpu-bridge-host: %v\n", err)
		return exitUnreachable
	}
	defer c.Close()
	if r, err := c.Do(strings.TrimSpace("attach queen " + f.ticket)); err != nil || !r.HasAck || !r.Ack.OK {
		fmt.Fprintf(stderr, "gpu-bridge-host: attach queen: %s %v\n", r.AckLine(), err)
		return exitUnreachable
	}
	return publish(ctx, c, inv, f, stdout, stderr)
}

// parseFlags reads the flags; a usage error is reported on stderr.
func parseFlags(args []string, stderr io.Writer) (bridgeFlags, bool) {
	var f bridgeFlags
	fs := flag.NewFlagSet("gpu-bridge-host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.mock, "mock", false, "use the deterministic GPU-0/GPU-1 inventory")
	fs.BoolVar(&f.list, "list", false, "print the discovered snapshot as JSON and exit")
	_ = fs.Bool("json", true, "JSON output for --list (always on)")
	fs.BoolVar(&f.publish, "publish", false, "publish the snapshot into the hive's /gpu")
	fs.IntVar(&f.interval, "interval-ms", 0, "republish every N ms until interrupted (0: once)")
	fs.StringVar(&f.registry, "registry", "", "model registry feeding /gpu/models")
	fs.StringVar(&f.host, "tcp-host", "127.0.0.1", "console host")
	fs.IntVar(&f.port, "tcp-port", consolePort(), "console port")
	fs.StringVar(&f.token, "auth-token", envToken(), "console AUTH token (env COH_AUTH_TOKEN, COHSH_AUTH_TOKEN)")
	fs.StringVar(&f.ticket, "ticket", "", "queen ticket (optional on the console)")
	if err := fs.Parse(args); err != nil {
		return f, false
	}
	if fs.NArg() > 0 || f.list == f.publish || f.interval < 0 {
		fmt.Fprintln(stderr, usage)
		return f, false
	}
	return f, true
}

// list prints the inventory and the registry's models as JSON.
func list(inv gpuhost.Inventory, registry string, stdout, stderr io.Writer) int {
	models, active, err := gpuhost.Registry(registry, gpu.DefaultLimits())
	if err != nil {
		fmt.Fprintf(stderr, "gpu-bridge-host: registry: %v\n", err)
		return exitFailed
	}
	out := struct {
		gpuhost.Inventory
		Models []string `json:"models"`
		Active string   `json:"active"`
	}{inv, nil, active}
	for _, m := range models {
		out.Models = append(out.Models, m.ID)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(stdout, string(b))
	return exitOK
}

// publish publishes the snapshot once, or every --interval-ms until ctx
// ends, printing "reload model=<id>" when /gpu/models/active changes.
func publish(ctx context.Context, c *client.Conn, inv gpuhost.Inventory, f bridgeFlags, stdout, stderr io.Writer) int {
	lim := gpu.DefaultLimits()
	lastActive := ""
	for {
		models, active, err := gpuhost.Registry(f.registry, lim)
		if err != nil {
			fmt.Fprintf(stderr, "gpu-bridge-host: registry: %v\n", err)
			return exitFailed
		}
		payload := gpuhost.Snapshot(inv, models, active, lim).Encode()
		if code := publishOnce(c, payload, stdout, stderr); code != exitOK {
			return code
		}
		if f.interval == 0 {
			return exitOK
		}
		if r, err := c.Do("cat /gpu/models/active"); err == nil && r.HasAck && r.Ack.OK && len(r.Lines) > 0 {
			if cur := r.Lines[len(r.Lines)-1]; cur != lastActive {
				fmt.Fprintf(stdout, "reload model=%s\n", cur)
				lastActive = cur
			}
		}
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(time.Duration(f.interval) * time.Millisecond):
		}
	}
}

// publishOnce streams payload through /gpu/bridge/ctl and checks status.
func publishOnce(c *client.Conn, payload []byte, stdout, stderr io.Writer) int {
	lim := console.ManifestLimits()
	for _, line := range gpu.PublishLines(payload, lim.Echo-len("b64:")) {
		r, err := c.Do("echo /gpu/bridge/ctl " + line)
		if err != nil {
			fmt.Fprintf(stderr, "gpu-bridge-host: publish: %v\n", err)
			return exitUnreachable
		}
		if !r.HasAck || !r.Ack.OK {
			fmt.Fprintln(stdout, r.AckLine())
			return exitFailed
		}
	}
	r, err := c.Do("cat /gpu/bridge/status")
	if err != nil {
		fmt.Fprintf(stderr, "gpu-bridge-host: status: %v\n", err)
		return exitUnreachable
	}
	status := strings.Join(r.Lines, " ")
	fmt.Fprintf(stdout, "OK PUBLISH bytes=%d sha256=%s status=%q\n", len(payload), gpu.SHA256Hex(payload), status)
	if !strings.HasPrefix(status, "state=ok") {
		return exitFailed
	}
	return exitOK
}

func consolePort() int {
	_, p, _ := net.SplitHostPort(generated.NetworkConsoleListen)
	n, _ := strconv.Atoi(p)
	return n
}

func envToken() string {
	for _, k := range []string{"COH_AUTH_TOKEN", "COHSH_AUTH_TOKEN"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return generated.ConsoleAuthToken
}
