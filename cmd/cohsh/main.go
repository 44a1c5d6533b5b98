// cohsh is the Cohesix operator shell: it attaches to a hive's console and
// runs the cohsh grammar interactively, as a one-shot command, or as a .coh
// regression script.
//
// Synopsis:
//
//	cohsh [--transport tcp|rest|mock] [--tcp-host H] [--tcp-port P] [--auth-token T]
//	      [--rest-url URL] [--rest-auth-token T]
//	      [--role R [--ticket T]] [--json] [--script FILE | --check FILE] [COMMAND WORDS...]
//	cohsh --mint-ticket --role R [--ticket-subject S] [--ticket-secret S] [--ticket-config TOML]
//
// Description:
//
// With no command words and no script, cohsh prints its banner and reads
// commands at the "coh> " prompt (line editing and history on a terminal).
// For every command it prints the lines the hive sent, verbatim and in order
// (ACK, payload, END), so transcripts of two transports can be compared byte
// for byte; its own messages go to stderr. Words after the flags form one
// command, run once. --script runs a .coh file (spec console.md §8) and
// --check only validates one. The mock transport runs an in-process hive.
//
// Lines whose first word is not a cohsh command (matched case-sensitively)
// are sent to the hive verbatim, so wire verbs such as "BI", "CACHELOG 4" or
// "ATTACH someone" reach the server's own parser and refusals.
//
// --transport rest talks to hive-gateway at --rest-url (else
// $COHSH_REST_URL, $COH_REST_URL, $HIVE_GATEWAY_URL) with the request-auth
// token of --rest-auth-token (else $HIVE_GATEWAY_REQUEST_AUTH_TOKEN,
// $COH_REST_AUTH_TOKEN, $COHSH_REST_AUTH_TOKEN); the attach ticket rides on
// every request, and the console verbs print what they print over TCP
// (docs/GATEWAY.md, Clients).
//
// --auth-token defaults to $COHSH_AUTH_TOKEN, then the manifest's token.
// --mint-ticket prints a ticket signed with the role's secret from
// --ticket-secret, $COHSH_TICKET_SECRET, the [[tickets]] of --ticket-config
// or $COHSH_TICKET_CONFIG, or the manifest, in that order.
//
// Exit status: 0 success; 1 the hive refused or a command or script failed;
// 2 usage error; 3 the hive could not be reached or refused AUTH.
package main

import (
	"context"
	"os"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
