package main

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/cas"
)

// defaultSignedExpiry is how long a signed bundle stays fresh without --expires.
const defaultSignedExpiry = 30 * 24 * time.Hour

// packResult is pack's --json object.
type packResult struct {
	Bundle        string `json:"bundle"`
	Schema        string `json:"schema"`
	Epoch         string `json:"epoch"`
	ChunkBytes    uint64 `json:"chunk_bytes"`
	PayloadBytes  uint64 `json:"payload_bytes"`
	PayloadSHA256 string `json:"payload_sha256"`
	Chunks        int    `json:"chunks"`
	ChunksWritten int    `json:"chunks_written"`
	DeltaBase     string `json:"delta_base_epoch,omitempty"`
	KeyID         string `json:"key_id,omitempty"`
	Expires       uint64 `json:"expires,omitempty"`
}

func packCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "pack",
		Usage:     "Pack a directory or file into a bundle of chunks and a manifest",
		ArgsUsage: "DIR|FILE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Usage: "Directory or file to pack (instead of the argument)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"out-dir"}, Usage: "Bundle directory to create (must not exist or be empty)", Required: true},
			&cli.StringFlag{Name: "epoch", Usage: "Epoch: 1 to 20 ASCII digits", Required: true},
			&cli.Uint64Flag{Name: "chunk-bytes", Value: generated.CasStoreChunkBytes, Usage: "Bytes per chunk, at most the hive's cas.store.chunk_bytes (the default)"},
			&cli.StringFlag{Name: "sign", Aliases: []string{"signing-key"}, Usage: "Private key file to sign with (makes a v2 manifest)"},
			&cli.DurationFlag{Name: "expires", Usage: "Time until the bundle is stale; default 720h when signing, 0 = never"},
			&cli.StringFlag{Name: "delta-from", Aliases: []string{"delta-base"}, Usage: "Base bundle: write only the chunks it lacks"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			input := c.String("input")
			if input == "" {
				var err error
				if input, err = oneArg(c, "DIR or FILE to pack"); err != nil {
					return err
				}
			} else if c.Args().Len() > 0 {
				return fail(exitUsage, "cas-tool pack: give the input either as an argument or as --input, not both")
			}
			opts := cas.PackOptions{Epoch: c.String("epoch"), ChunkBytes: c.Uint64("chunk-bytes"), OutDir: c.String("out"), DeltaFrom: c.String("delta-from")}
			if !cas.ValidEpoch(opts.Epoch) {
				return fail(exitUsage, "cas-tool pack: --epoch %q: want 1 to 20 ASCII digits", opts.Epoch)
			}
			if opts.ChunkBytes == 0 || opts.ChunkBytes > cas.MaxChunkBytes {
				return fail(exitUsage, "cas-tool pack: --chunk-bytes %d: want 1 to %d", opts.ChunkBytes, cas.MaxChunkBytes)
			}
			if k := c.String("sign"); k != "" {
				priv, err := cas.ReadPrivateKey(k)
				if err != nil {
					return fail(exitFailed, "cas-tool pack: signing key: %v (make one with cas-tool keygen --out KEY)", err)
				}
				opts.Sign = priv
			}
			exp := c.Duration("expires")
			if !c.IsSet("expires") && opts.Sign != nil {
				exp = defaultSignedExpiry
			}
			if exp < 0 {
				return fail(exitUsage, "cas-tool pack: --expires %v is negative", exp)
			}
			if exp > 0 {
				opts.Expires = time.Now().Add(exp)
			}
			bar := newBar(e, "pack")
			opts.Progress = bar.update
			m, err := cas.Pack(input, opts)
			bar.finish()
			if err != nil {
				return fail(exitFailed, "cas-tool %v", err)
			}
			written := 0
			if d, err := os.Open(opts.OutDir + "/" + cas.ChunksDir); err == nil {
				names, _ := d.Readdirnames(-1)
				d.Close()
				written = len(names)
			}
			res := packResult{Bundle: opts.OutDir, Schema: m.Schema, Epoch: m.Epoch, ChunkBytes: m.ChunkBytes,
				PayloadBytes: m.PayloadBytes, PayloadSHA256: m.PayloadSHA256.String(), Chunks: len(m.Chunks),
				ChunksWritten: written, KeyID: m.KeyID, Expires: m.Expires}
			if m.Delta != nil {
				res.DeltaBase = m.Delta.BaseEpoch
			}
			if c.Bool("json") {
				emitJSON(e.stdout, res)
				return nil
			}
			fmt.Fprintf(e.stdout, "packed %s: %s epoch=%s chunks=%d written=%d payload_bytes=%d payload_sha256=%s\n",
				res.Bundle, res.Schema, res.Epoch, res.Chunks, res.ChunksWritten, res.PayloadBytes, res.PayloadSHA256)
			if res.DeltaBase != "" {
				fmt.Fprintf(e.stdout, "delta on epoch %s\n", res.DeltaBase)
			}
			if res.KeyID != "" {
				fmt.Fprintf(e.stdout, "signed by key %s\n", res.KeyID)
			}
			if res.Expires != 0 {
				fmt.Fprintf(e.stdout, "expires %s\n", time.Unix(int64(res.Expires), 0).UTC().Format(time.RFC3339))
			}
			return nil
		},
	}
}
