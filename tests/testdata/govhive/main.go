// Command govhive is a test root task: the hosted hive with PolicyFS,
// AuditFS and ReplayFS on, as the production profile has them (DECISIONS
// D10; the dev manifest keeps them off), and a governance spool in
// --state-dir. It prints the same listening line as roottask.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/cohesix/cohesix/internal/hive"
	"github.com/cohesix/cohesix/internal/queen"
)

func main() {
	dir := flag.String("state-dir", "", "governance spool directory")
	flag.Parse()
	cfg := queen.Governed() // the manifest rules: queen-ctl, systemd-restart
	h, err := hive.New(hive.Options{Queen: &cfg, StateDir: *dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "govhive:", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "govhive:", err)
		os.Exit(1)
	}
	fmt.Printf("[event] console listening tcp=%s\n", l.Addr())
	if err := h.ServeConsoles(l); err != nil {
		fmt.Fprintln(os.Stderr, "govhive:", err)
	}
	os.Exit(1)
}
