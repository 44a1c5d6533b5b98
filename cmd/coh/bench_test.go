package main

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestBenchFlags: flag combinations that cannot run are usage errors
// (exit 2) with a message naming the flag, before any connection.
func TestBenchFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"count and ramp", []string{"--workers", "3", "--workers-min", "2", "--workers-max", "4"}, "exclusive"},
		{"half a ramp", []string{"--workers-min", "2"}, "needs both"},
		{"step without ramp", []string{"--step", "x2"}, "--step needs"},
		{"bad step", []string{"--workers-min", "2", "--workers-max", "4", "--step", "x0.5"}, "--step"},
		{"ramp backwards", []string{"--workers-min", "9", "--workers-max", "4"}, "min <= max"},
		{"mode", []string{"--mode", "fast"}, "reopen or keep-open"},
		{"zero workers", []string{"--workers", "0"}, "at least 1"},
		{"zero duration", []string{"--duration", "0s"}, "--duration"},
		{"tiny record", []string{"--record-bytes", "10"}, "--record-bytes"},
		{"bad hive pid", []string{"--hive-pid", "-2"}, "--hive-pid"},
		{"positional", []string{"now"}, "takes no arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"bench", "workers"}, c.args...), nil, &out, &errb)
			if code != exitUsage || !strings.Contains(errb.String(), c.want) {
				t.Errorf("coh bench workers %v = %d, %q; want %d and %q", c.args, code, errb.String(), exitUsage, c.want)
			}
		})
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--rest-url", "http://127.0.0.1:1", "bench", "workers"}, nil, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--rest-url") {
		t.Errorf("coh --rest-url ... bench workers = %d, %q; want %d and a word on --rest-url", code, errb.String(), exitUsage)
	}
}

// TestBenchPreflightUnreachable: no hive on the ports is exit 3 with
// what to do next, and nothing is printed on stdout.
func TestBenchPreflightUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--9p-port", port, "--port", port, "bench", "workers", "--workers", "1", "--duration", "1s"}, nil, &out, &errb)
	if code != exitUnreachable || !strings.Contains(errb.String(), "Secure9P listener at 127.0.0.1:"+port+" is unreachable") || !strings.Contains(errb.String(), "make run") || out.Len() != 0 {
		t.Errorf("coh bench workers (no hive) = %d, stdout %q, stderr %q; want %d and the unreachable listener with a next step", code, out.String(), errb.String(), exitUnreachable)
	}
}
