// Package client is the one console client core every host tool uses: it
// dials the root task's TCP console (length framing, AUTH hello), drives
// a newline serial console, or asks an in-process exchange (cohsh's REST
// transport, which answers console lines over hive-gateway), sends one command line at a time and reads back
// the response — the ACK, the payload lines before or after it, and the END
// of a stream — exactly as the server sent them.
//
// Over TCP a lost connection is re-established with the manifest's back-off
// (client_policies.retry.*): AUTH and the last successful ATTACH are replayed
// and the command is sent again. Script mode turns this off so errors
// propagate. Timeouts come from client_policies.retry.timeout_ms.
package client
