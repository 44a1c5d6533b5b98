// Command cas-tool makes signing keys and keysets, and packs and verifies
// CAS update bundles (docs/CAS.md; spec host-tools.md §5).
//
// Synopsis:
//
//	cas-tool keygen --out KEY
//	cas-tool pack DIR|FILE --out BUNDLE --epoch N [--chunk-bytes 128] [--sign KEY] [--expires 720h] [--delta-from OLDBUNDLE] [--json]
//	cas-tool verify BUNDLE (--key KEY.pub | --keyset KEYSET.cbor --root ROOT.pub | --unsigned) [--base OLDBUNDLE] [--json]
//	cas-tool keyset --root ROOT --version N --expires 8760h --key A.pub [--key B.pub ...] --out KEYSET.cbor
//
// The spec's spellings are accepted as aliases: pack --input, --out-dir,
// --delta-base and --signing-key. Flags may come before or after the
// positional argument. pack and verify draw a progress bar on stderr when
// it is a terminal; --json prints one JSON object on stdout.
//
// Exit codes: 0 success, 1 the operation or a verification failed, 2 usage
// error.
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
