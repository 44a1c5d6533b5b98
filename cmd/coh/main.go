// Command coh is the operator's host tool for GPUs, telemetry and models
// (spec host-tools.md §2). It is a Secure9P client (ARCHITECTURE rule 6):
//
//	coh [--host H] [--9p-port P] [--ticket T] [--role R] <command> [--json]
//	coh gpu list | gpu status --gpu ID | gpu lease --gpu ID --mem-mb N --streams N --ttl-s N [--priority N] [--budget-ttl-s N] [--budget-ops N]
//	coh run --gpu ID -- CMD...
//	coh telemetry pull --out DIR
//	coh peft export --job ID --out DIR
//	coh peft import --model ID --from DIR --job ID --export DIR [--registry DIR]
//	coh peft activate --model ID [--registry DIR] | peft rollback [--registry DIR]
//	coh mount --at DIR
//	coh doctor [--mock]
//	coh [--host H] [--port P] [--9p-port P] bench workers [--workers N | --workers-min N --workers-max N [--step x2|+N]]
//	    [--duration D] [--seed S] [--mode reopen|keep-open] [--p99-knee D] [--hive-pid PID] [--keep] [--json] [--csv FILE]
//
// Without --ticket coh mints one from the compiled manifest's secret for
// --role (dev profiles only). Every read command takes --json.
//
// bench workers is the worker load harness (docs/BENCHMARKS.md, Worker
// load harness): after a preflight (both listeners reachable, the queen
// ticket and the console token accepted, ls / shows /queen and /worker)
// it spawns workers through /queen/ctl, attaches each over Secure9P with
// its own minted ticket, appends one heartbeat per worker per --interval
// while it probes the console (--port, token from --auth-token, else
// $COHSH_AUTH_TOKEN, else the manifest's), and prints errors by class,
// append and console p50/p99, the hive's CPU and RSS when it is local,
// the knee of a ramp and the heartbeats the rings received. It kills
// the workers it spawned unless --keep; on SIGINT it stops the load and
// prints what it measured (exit 1).
//
// --rest-url URL (else $COHSH_REST_URL, $COH_REST_URL, $HIVE_GATEWAY_URL)
// runs the verbs over hive-gateway instead of Secure9P, with the token of
// --rest-auth-token (else $HIVE_GATEWAY_REQUEST_AUTH_TOKEN,
// $COH_REST_AUTH_TOKEN, $COHSH_REST_AUTH_TOKEN) and the ticket of --ticket
// (else $COH_REST_TICKET); output and exit codes are the same. A REST
// mount is exclusive per URL on the host (docs/GATEWAY.md, Clients).
//
// Exit codes: 0 success, 1 the hive refused or a check failed, 2 usage
// error, 3 the hive could not be reached or refused the ticket.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
