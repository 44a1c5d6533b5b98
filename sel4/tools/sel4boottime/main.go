// Command sel4boottime boots a Cohesix seL4 image under QEMU several times
// and reports, from the serial output, when each boot milestone appeared:
// ms since QEMU started and since kernel entry (the debug kernel's
// "Bootstrapping kernel" line), median over the runs.
//
//	go run ./sel4/tools/sel4boottime [-runs 5] out/sel4/image/cohesix-image
//
// It runs scripts/qemu-run.sh (one QEMU at a time) and stops each QEMU as
// soon as the `cohesix> ` prompt appears.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

var milestones = []struct{ name, marker string }{
	{"elfloader", "ELF-loader started"},
	{"kernel entry", "Bootstrapping kernel"},
	{"user space", "Booting all finished, dropped to user space"},
	{"shim up", "cohesix-shim: seL4 root server up"},
	{"Go banner", "Cohesix root task ("},
	{"prompt", "cohesix> "},
}

func boot(image string, timeout time.Duration) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "scripts/qemu-run.sh", image)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	at := make([]time.Duration, len(milestones))
	var seen bytes.Buffer
	buf := make([]byte, 512)
	next := 0
	for next < len(milestones) {
		n, err := out.Read(buf)
		now := time.Since(start)
		seen.Write(buf[:n])
		for next < len(milestones) && bytes.Contains(seen.Bytes(), []byte(milestones[next].marker)) {
			at[next] = now
			next++
		}
		if err != nil {
			return nil, fmt.Errorf("serial ended before %q: %v", milestones[next].marker, err)
		}
	}
	return at, nil
}

func main() {
	runs := flag.Int("runs", 5, "boots to time")
	timeout := flag.Duration("timeout", 60*time.Second, "limit per boot")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: sel4boottime [-runs N] IMAGE")
		os.Exit(2)
	}
	all := make([][]time.Duration, len(milestones))
	for r := 0; r < *runs; r++ {
		at, err := boot(flag.Arg(0), *timeout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sel4boottime:", err)
			os.Exit(1)
		}
		for i := range at {
			all[i] = append(all[i], at[i])
		}
	}
	median := func(d []time.Duration) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	entry := median(all[1])
	fmt.Printf("%-14s %12s %16s  (median of %d boots; min..max since QEMU start)\n", "milestone", "ms since QEMU", "ms since kernel", *runs)
	for i, m := range milestones {
		s := append([]time.Duration(nil), all[i]...)
		sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
		fmt.Printf("%-14s %12.0f %16.0f  (%.0f..%.0f)\n", m.name, ms(median(all[i])), ms(median(all[i])-entry), ms(s[0]), ms(s[len(s)-1]))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
