package hive

import (
	"net"
	"strings"
	"testing"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
)

// TestPipelinedRequestsAllAnswered: a client that writes a burst before it
// reads gets exactly one reply per request, in request order: run, or
// ERR <VERB> reason=busy, or its ERR PARSE; none is dropped.
func TestPipelinedRequestsAllAnswered(t *testing.T) {
	h := newTestHive(t)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); h.ServeConsole(server) }()
	defer func() { client.Close(); <-done }()
	lim := console.ManifestLimits()
	fr := console.NewFrameReader(client, lim)
	go client.Write(console.AppendFrame(nil, console.AuthLine(generated.ConsoleAuthToken)))
	if l, err := fr.Next(false); err != nil || l != "OK AUTH" {
		t.Fatalf("AUTH: %q %v", l, err)
	}
	const n = 3000
	verbs := []string{"ping", "netstats", "bogus", "bi"}
	labels := []string{"PING", "NETSTATS", "PARSE", "BOOTINFO"}
	writeErr := make(chan error, 1)
	go func() {
		var buf []byte
		for i := range n {
			buf = console.AppendFrame(buf, verbs[i%len(verbs)])
		}
		_, err := client.Write(buf)
		writeErr <- err
	}()
	busy := 0
	for i := 0; i < n; {
		l, err := fr.Next(false)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if l == console.PingReply {
			continue // the payload line before OK PING
		}
		a, ok := console.ParseAck(l)
		if !ok || a.Label != labels[i%len(labels)] {
			t.Fatalf("reply %d = %q; want the %s reply", i, l, labels[i%len(labels)])
		}
		if strings.Contains(l, "reason=busy") {
			busy++
			if l != "ERR "+a.Label+" reason=busy detail=queue-full" {
				t.Fatalf("busy reply %q", l)
			}
		}
		i++
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	st := h.ns.Ingest()
	if st.Dropped.Load() != 0 || st.Backpressure.Load() < uint64(busy) {
		t.Errorf("/proc/ingest dropped=%d backpressure=%d; want 0 and >= %d busy", st.Dropped.Load(), st.Backpressure.Load(), busy)
	}
	t.Logf("%d requests, %d busy", n, busy)
}
