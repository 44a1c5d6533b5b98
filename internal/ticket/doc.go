// Package ticket implements Cohesix role tickets: the role table, the
// claims codec (claims version 1), the cohesix-ticket token text form with
// its BLAKE3 keyed MAC, claim checks against the manifest's ticket limits,
// client-side attach validation, and the scope matching and rate window
// used for per-ticket enforcement. It follows docs spec roles-tickets.md
// sections 1 to 5.
//
// The token text form is
//
//	cohesix-ticket-<payload_hex>.<mac_hex>
//
// where payload_hex is the encoded [Claims] and mac_hex is the 32-byte
// BLAKE3 keyed hash of the payload bytes under the key BLAKE3(secret).
//
// The package is OS-free: it imports no os, net, syscall or time package,
// reads no clock (callers pass the time in milliseconds) and keeps no
// global mutable state, so both the hosted build and the seL4 build can
// use it. A dependency test holds this.
//
// Errors are sentinel values checked with errors.Is; detail is wrapped
// around them with fmt.Errorf and %w.
package ticket
