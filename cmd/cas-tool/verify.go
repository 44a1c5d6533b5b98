package main

import (
	"crypto/ed25519"
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
		Action: func(c *cli.Context) error { return runVerify(e, c) },
	}
}

func runVerify(e *env, c *cli.Context) error {
	dir, err := oneArg(c, "BUNDLE directory")
	if err != nil {
		return err
	}
	opts, err := verifyOptions(c)
	if err != nil {
		return err
	}
	bar := newBar(e, "verify")
	opts.Progress = bar.update
	r, err := cas.VerifyBundle(dir, opts)
	bar.finish()
	if r == nil {
		return fail(exitFailed, "cas-tool %v", err)
	}
	if c.Bool("unsigned") {
		err = refuseSigned(r, err)
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
}

// verifyOptions checks that the flags make one key choice (--key,
// --keyset with --root, or --unsigned) and reads the keys it names.
func verifyOptions(c *cli.Context) (cas.VerifyOptions, error) {
	var opts cas.VerifyOptions
	switch {
	case c.Bool("unsigned") && (c.IsSet("key") || c.IsSet("keyset")):
		return opts, fail(exitUsage, "cas-tool verify: --unsigned with a key makes no sense; give one or the other")
	case c.IsSet("keyset") != c.IsSet("root"):
		return opts, fail(exitUsage, "cas-tool verify: --keyset and --root go together")
	case !c.Bool("unsigned") && !c.IsSet("key") && !c.IsSet("keyset"):
		return opts, fail(exitUsage, "cas-tool verify: give --key KEY.pub, or --keyset KEYSET.cbor --root ROOT.pub, or --unsigned for an unsigned bundle")
	}
	var err error
	if k := c.String("key"); k != "" {
		if opts.Public, err = cas.ReadPublicKey(k); err != nil {
			return opts, fail(exitFailed, "cas-tool verify: --key: %v", err)
		}
	}
	if k := c.String("keyset"); k != "" {
		if opts.Root, opts.Keyset, err = readKeyset(k, c.String("root")); err != nil {
			return opts, err
		}
	}
	opts.Base = c.String("base")
	opts.Now = time.Now()
	return opts, nil
}

// readKeyset reads the root public key file root and the keyset file k.
func readKeyset(k, root string) (ed25519.PublicKey, *cas.Keyset, error) {
	pub, err := cas.ReadPublicKey(root)
	if err != nil {
		return nil, nil, fail(exitFailed, "cas-tool verify: --root: %v", err)
	}
	b, err := os.ReadFile(k)
	if err != nil {
		return nil, nil, fail(exitFailed, "cas-tool verify: --keyset: %v", err)
	}
	ks, err := cas.DecodeKeyset(b)
	if err != nil {
		return nil, nil, fail(exitFailed, "cas-tool verify: --keyset %s: %v", k, err)
	}
	return pub, ks, nil
}

// refuseSigned fails r when the bundle carries a signature although
// --unsigned was given; it returns err, or the new failure when err is nil.
func refuseSigned(r *cas.Report, err error) error {
	if r.Signature == "unsigned" {
		return err
	}
	r.OK = false
	r.Problems = append(r.Problems, "bundle is signed; verify it with --key or --keyset")
	if err == nil {
		err = fmt.Errorf("%w: %s", cas.ErrVerify, r.Problems[len(r.Problems)-1])
	}
	return err
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
