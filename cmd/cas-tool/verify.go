package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/internal/cas"
)

func verifyCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "Check a bundle's chunk hashes, payload hash, signature and expiry",
		ArgsUsage: "BUNDLE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "Public key file the manifest must be signed with"},
			&cli.StringFlag{Name: "keyset", Usage: "Keyset file naming the keys allowed to sign (needs --root)"},
			&cli.StringFlag{Name: "root", Usage: "Root public key file that signs the keyset"},
			&cli.BoolFlag{Name: "unsigned", Usage: "Check hashes only; the bundle must carry no signature"},
			&cli.StringFlag{Name: "base", Usage: "Base bundle directory of a delta"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			dir, err := oneArg(c, "BUNDLE directory")
			if err != nil {
				return err
			}
			var opts cas.VerifyOptions
			switch {
			case c.Bool("unsigned") && (c.IsSet("key") || c.IsSet("keyset")):
				return fail(exitUsage, "cas-tool verify: --unsigned with a key makes no sense; give one or the other")
			case c.IsSet("keyset") != c.IsSet("root"):
				return fail(exitUsage, "cas-tool verify: --keyset and --root go together")
			case !c.Bool("unsigned") && !c.IsSet("key") && !c.IsSet("keyset"):
				return fail(exitUsage, "cas-tool verify: give --key KEY.pub, or --keyset KEYSET.cbor --root ROOT.pub, or --unsigned for an unsigned bundle")
			}
			if k := c.String("key"); k != "" {
				if opts.Public, err = cas.ReadPublicKey(k); err != nil {
					return fail(exitFailed, "cas-tool verify: --key: %v", err)
				}
			}
			if k := c.String("keyset"); k != "" {
				if opts.Root, err = cas.ReadPublicKey(c.String("root")); err != nil {
					return fail(exitFailed, "cas-tool verify: --root: %v", err)
				}
				b, err := os.ReadFile(k)
				if err != nil {
					return fail(exitFailed, "cas-tool verify: --keyset: %v", err)
				}
				if opts.Keyset, err = cas.DecodeKeyset(b); err != nil {
					return fail(exitFailed, "cas-tool verify: --keyset %s: %v", k, err)
				}
			}
			opts.Base = c.String("base")
			opts.Now = time.Now()
			bar := newBar(e, "verify")
			opts.Progress = bar.update
			r, err := cas.VerifyBundle(dir, opts)
			bar.finish()
			if r == nil {
				return fail(exitFailed, "cas-tool %v", err)
			}
			if c.Bool("unsigned") && r.Signature != "unsigned" {
				r.OK = false
				r.Problems = append(r.Problems, "bundle is signed; verify it with --key or --keyset")
				if err == nil {
					err = fmt.Errorf("%w: %s", cas.ErrVerify, r.Problems[len(r.Problems)-1])
				}
			}
			if c.Bool("json") {
				emitJSON(e.stdout, r)
			} else {
				printReport(e, r)
			}
			if err != nil {
				if errors.Is(err, cas.ErrVerify) {
					return fail(exitFailed, "cas-tool verify: %s: FAILED: %s", dir, r.Problems[0])
				}
				return fail(exitFailed, "cas-tool verify: %v", err)
			}
			return nil
		},
	}
}

func printReport(e *env, r *cas.Report) {
	state := "ok"
	if !r.OK {
		state = "FAILED"
	}
	fmt.Fprintf(e.stdout, "%s %s: %s epoch=%s chunks=%d unique=%d in_bundle=%d from_base=%d missing=%d bad=%d extra=%d\n",
		state, r.Bundle, r.Schema, r.Epoch, r.Chunks, r.UniqueChunks, r.InBundle, r.FromBase, r.Missing, r.BadCount, r.Extra)
	fmt.Fprintf(e.stdout, "payload_bytes=%d payload_sha256=%s payload_ok=%t signature=%s", r.PayloadBytes, r.PayloadSHA256, r.PayloadOK, r.Signature)
	if r.KeyID != "" {
		fmt.Fprintf(e.stdout, " key=%s", r.KeyID)
	}
	fmt.Fprintln(e.stdout)
	for i, b := range r.Bad {
		if i == 8 {
			fmt.Fprintf(e.stdout, "... and %d more bad chunks (--json lists %d)\n", r.BadCount-i, len(r.Bad))
			break
		}
		fmt.Fprintf(e.stdout, "bad chunk %s index=%d: %s\n", b.Digest, b.Index, b.Reason)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(e.stdout, "problem: %s\n", p)
	}
}
