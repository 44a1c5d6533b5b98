package tests

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// TestSwarmUIGateway: swarmui --gateway reaches the hive only through
// bin/hive-gateway (its Secure9P and console addresses point at nothing),
// with each login's ticket as the delegated identity: a queen ticket
// reads /proc/ui and runs console lines, a worker ticket sees its own
// worker and is refused /queen/ctl by the hive, whose audit line names
// the worker ticket's subject.
func TestSwarmUIGateway(t *testing.T) {
	bin := binaries(t, "roottask", "cmd/cohsh", "cmd/swarmui", "cmd/hive-gateway")
	rt := startRootTask(t, bin, false)
	gw := startBenchGateway(t, bin, rt)
	ui := startSwarmUIArgs(t, bin, "--gateway", gw.url, "--rest-auth-token", benchToken,
		"--hive-9p", "127.0.0.1:1", "--console", "127.0.0.1:1")
	me := gatewayQueen(t, bin, rt, ui)
	gatewayWorker(t, bin, rt, ui, me)
}

// gatewayQueen: a queen login streams /proc/ui and runs console lines
// through the gateway; it returns the worker it spawned.
func gatewayQueen(t *testing.T, bin string, rt *rootTask, ui *swarmUI) string {
	queenTok, err := nineclient.MintQueen(time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// Queen: the stream is /proc/ui read through the gateway; a spawn on
	// the console (an echo to /queen/ctl with the gateway's token) shows.
	q := ui.client(t)
	if code, b := q.login(queenTok); code != 200 || !strings.Contains(b, `"role":"queen"`) {
		t.Fatalf("queen login through the gateway = %d %s", code, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev := q.events(ctx)
	await(t, ev, "the hive event", func(n, d string) bool {
		return n == "hive" && strings.Contains(d, `"lifecycle":"ONLINE"`)
	})
	if got := q.console("spawn heartbeat ticks=100000"); len(got) != 1 || !strings.HasPrefix(got[0], "OK ECHO path=/queen/ctl ") {
		t.Fatalf("spawn through the gateway = %q", got)
	}
	ids := cohshLines(t, bin, rt, "ls", "/worker")
	me := ids[len(ids)-2]
	await(t, ev, me+" appearing", func(n, d string) bool { return n == "diff" && strings.Contains(d, `"id":"`+me+`"`) })
	for _, line := range []string{"cat /proc/lifecycle/state", "ls /proc", "cat /nope"} {
		want := cohshLines(t, bin, rt, strings.Fields(line)...)
		if got := q.console(line); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q through the gateway:\n page  %q\n cohsh %q", line, got, want)
		}
	}
	// tail -f runs cohverb.Follow over the gateway's console as well.
	fctx, fcancel := context.WithCancel(context.Background())
	fev := q.sse(fctx, "/api/console/follow?path=/log/queen.log")
	await(t, fev, "the tail ack through the gateway", func(n, d string) bool {
		return n == "line" && d == `{"line":"OK TAIL path=/log/queen.log"}`
	})
	cohshLines(t, bin, rt, "cat", "/proc/gateway-follow-marker")
	await(t, fev, "a new log line through the gateway", func(n, d string) bool { return n == "line" && strings.Contains(d, "gateway-follow-marker") })
	fcancel()
	forged, _ := ticket.Mint(ticket.Claims{Role: ticket.RoleQueen, IssuedAtMs: uint64(time.Now().UnixMilli())}, "not-the-hive-secret")
	if code, b := ui.client(t).login(forged); code != 401 || !strings.Contains(b, "the hive refused the ticket") {
		t.Fatalf("forged ticket login through the gateway = %d %s", code, b)
	}

	return me
}

// gatewayWorker: a worker login streams only its worker; /queen/ctl is
// the hive's refusal, audited with the worker's subject.
func gatewayWorker(t *testing.T, bin string, rt *rootTask, ui *swarmUI, me string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wt, err := nineclient.Mint(ticket.RoleWorkerHeartbeat, me, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := ui.client(t)
	if code, b := w.login(wt); code != 200 || !strings.Contains(b, `"subject":"`+me+`"`) {
		t.Fatalf("worker login through the gateway = %d %s", code, b)
	}
	wev := w.events(ctx)
	await(t, wev, "the worker's hive event", func(n, d string) bool {
		if n != "hive" {
			return false
		}
		var f struct{ Workers []struct{ ID string } }
		json.Unmarshal([]byte(d), &f)
		if len(f.Workers) != 1 || f.Workers[0].ID != me {
			t.Fatalf("a worker ticket's stream through the gateway holds %s", d)
		}
		return true
	})
	if code, b := w.do("GET", "/api/worker?id="+me, nil); code != 200 || !strings.Contains(string(b), `"telemetry":[`) {
		t.Fatalf("worker reading itself through the gateway = %d %s", code, b)
	}
	if got := w.console("cat /queen/ctl"); len(got) != 1 || !strings.HasPrefix(got[0], "ERR CAT") {
		t.Fatalf("a worker's cat /queen/ctl through the gateway = %q", got)
	}
	log := cohshLines(t, bin, rt, "tail", "/log/queen.log")
	if !containsAll(log, "access denied role=worker-heartbeat subject="+me+" path=/queen ", "via=") {
		t.Errorf("/log/queen.log has no denial naming %s:\n%s", me, strings.Join(log, "\n"))
	}
}
