package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/internal/cas"
)

func keygenCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "Make an Ed25519 signing key: KEY (mode 0600) and KEY.pub",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "Private key file to write; the public key goes to its .pub", Required: true},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return fail(exitUsage, "cas-tool keygen: takes no arguments; give --out KEY")
			}
			pub, err := cas.WriteKeyPair(c.String("out"))
			if err != nil {
				return fail(exitFailed, "cas-tool keygen: %v", err)
			}
			fmt.Fprintf(e.stdout, "key %s: private %s, public %s.pub\n", cas.KeyID(pub), c.String("out"), c.String("out"))
			return nil
		},
	}
}
