package main

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/internal/cas"
)

func keysetCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "keyset",
		Usage: "Sign a keyset of manifest signing keys with the root key",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Usage: "Root private key file", Required: true},
			&cli.Uint64Flag{Name: "version", Usage: "Keyset version; must rise with every new keyset", Required: true},
			&cli.DurationFlag{Name: "expires", Value: 8760 * time.Hour, Usage: "Time until the keyset is stale; 0 = never"},
			&cli.StringSliceFlag{Name: "key", Usage: "Public key file to include (repeat for more)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "Keyset file to write", Required: true},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return fail(exitUsage, "cas-tool keyset: takes no arguments; give keys with --key")
			}
			root, err := cas.ReadPrivateKey(c.String("root"))
			if err != nil {
				return fail(exitFailed, "cas-tool keyset: --root: %v", err)
			}
			var pubs []ed25519.PublicKey
			for _, k := range c.StringSlice("key") {
				p, err := cas.ReadPublicKey(k)
				if err != nil {
					return fail(exitFailed, "cas-tool keyset: --key: %v", err)
				}
				pubs = append(pubs, p)
			}
			var exp uint64
			if d := c.Duration("expires"); d < 0 {
				return fail(exitUsage, "cas-tool keyset: --expires %v is negative", d)
			} else if d > 0 {
				exp = uint64(time.Now().Add(d).Unix())
			}
			ks, err := cas.NewKeyset(c.Uint64("version"), exp, pubs)
			if err != nil {
				return fail(exitUsage, "cas-tool %v", err)
			}
			ks.Sign(root)
			tmp := c.String("out") + ".tmp"
			if err := os.WriteFile(tmp, ks.Encode(), 0o644); err != nil {
				return fail(exitFailed, "cas-tool keyset: %v", err)
			}
			if err := os.Rename(tmp, c.String("out")); err != nil {
				return fail(exitFailed, "cas-tool keyset: %v", err)
			}
			fmt.Fprintf(e.stdout, "keyset version %d: %d keys, signed by root key %s, written to %s\n",
				ks.Version, len(ks.Keys), cas.KeyID(root.Public().(ed25519.PublicKey)), c.String("out"))
			return nil
		},
	}
}
