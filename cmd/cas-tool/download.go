package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/cas"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/syncfile"
)

// downloadResult is what download reports (--json).
type downloadResult struct {
	Out            string  `json:"out"`
	Addr           string  `json:"addr"`
	Epoch          string  `json:"epoch"`
	PayloadSHA256  string  `json:"payload_sha256"`
	ChunksExpected int     `json:"chunks_expected"` // distinct chunks the manifest names
	ChunksFetched  int     `json:"chunks_fetched"`  // read from the hive this run
	ChunksSkipped  int     `json:"chunks_skipped"`  // already in OUT with the right hash
	BytesFetched   int64   `json:"bytes_fetched"`
	Seconds        float64 `json:"seconds"`
	Error          string  `json:"error,omitempty"`
}

func downloadCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:      "download",
		Usage:     "Fetch a ready epoch from a hive's /updates into a bundle, resuming what OUT holds",
		ArgsUsage: "EPOCH",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "Bundle directory to fill (created if absent)"},
			&cli.StringFlag{Name: "addr", Value: generated.NetworkSecure9pListen, Usage: "Hive Secure9P address HOST:PORT"},
			&cli.StringFlag{Name: "ticket", EnvVars: []string{"COH_TICKET"}, Usage: "Queen capability ticket (default: minted from the manifest's dev secret)"},
			&cli.IntFlag{Name: "stop-after-chunks", Value: -1, Hidden: true, Usage: "Testing: stop after K chunks, as an interrupted download"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			epoch, err := oneArg(c, "EPOCH")
			if err != nil {
				return err
			}
			if !cas.ValidEpoch(epoch) {
				return fail(exitUsage, "cas-tool download: epoch %q: want 1 to 20 ASCII digits", epoch)
			}
			d := &downloader{e: e, epoch: epoch, out: c.String("out"), addr: c.String("addr"), tok: c.String("ticket"), stopAfter: c.Int("stop-after-chunks")}
			res, err := d.run(c.Context)
			if c.Bool("json") {
				if err != nil {
					res.Error = err.Error()
				}
				emitJSON(e.stdout, res)
			} else if err == nil {
				fmt.Fprintf(e.stdout, "downloaded epoch %s into %s: %d chunks fetched, %d already there, %d bytes in %.2fs; check it with cas-tool verify %s --key KEY.pub\n",
					res.Epoch, res.Out, res.ChunksFetched, res.ChunksSkipped, res.BytesFetched, res.Seconds, res.Out)
			}
			return err
		},
	}
}

// downloader is one download run: the manifest, then every chunk OUT
// lacks, each checked against its name before it is kept, so an
// interrupted run resumes where it stopped and never keeps a bad chunk.
type downloader struct {
	e                *env
	epoch, out, addr string
	tok              string
	stopAfter        int
	res              downloadResult
}

func (d *downloader) run(ctx context.Context) (downloadResult, error) {
	start := time.Now()
	d.res = downloadResult{Out: d.out, Addr: d.addr, Epoch: d.epoch}
	err := d.download(ctx)
	d.res.Seconds = time.Since(start).Seconds()
	return d.res, err
}

func (d *downloader) download(ctx context.Context) error {
	c, _, err := dialUpdates("download", d.addr, d.tok)
	if err != nil {
		return err
	}
	defer c.Close()
	base := "/updates/" + d.epoch
	text, err := c.Read(base+"/status", 4096)
	if err != nil {
		return fail(exitFailed, "cas-tool download: read %s/status: %v", base, err)
	}
	st, err := parseStatus(string(text))
	if err != nil {
		return err
	}
	if st.state != "ready" {
		return fail(exitFailed, "cas-tool download: epoch %s is %s on the hive at %s; only a ready epoch can be downloaded (upload it first)", d.epoch, st.state, d.addr)
	}
	raw, err := c.Read(base+"/"+cas.ManifestFile, maxManifestBytes)
	if err != nil {
		return fail(exitFailed, "cas-tool download: read %s/%s: %v", base, cas.ManifestFile, err)
	}
	m, err := cas.DecodeManifest(raw, cas.MaxBundleChunks)
	if err != nil {
		return fail(exitFailed, "cas-tool download: the hive's manifest for epoch %s does not decode: %v", d.epoch, err)
	}
	d.res.PayloadSHA256 = m.PayloadSHA256.String()
	if err := d.keepManifest(raw); err != nil {
		return err
	}
	return d.fetchChunks(ctx, c, base, m)
}

// maxManifestBytes bounds the manifest read: the largest a bundle may
// name (cas.MaxBundleChunks digests) is far above any hive's bound.
const maxManifestBytes = 64 << 20

// keepManifest writes the manifest into OUT, or checks that the one OUT
// holds from an interrupted run is the same.
func (d *downloader) keepManifest(raw []byte) error {
	if err := os.MkdirAll(filepath.Join(d.out, cas.ChunksDir), 0o755); err != nil {
		return fail(exitFailed, "cas-tool download: %v", err)
	}
	path := filepath.Join(d.out, cas.ManifestFile)
	if have, err := os.ReadFile(path); err == nil {
		if !bytes.Equal(have, raw) {
			return fail(exitFailed, "cas-tool download: %s holds another manifest: download into an empty directory", path)
		}
		return nil
	}
	if err := syncfile.Replace(path, raw); err != nil {
		return fail(exitFailed, "cas-tool download: %v", err)
	}
	return nil
}

func (d *downloader) fetchChunks(ctx context.Context, c *nineclient.Client, base string, m *cas.Manifest) error {
	seen := map[cas.Digest]bool{}
	bar := newBar(d.e, "download")
	defer bar.finish()
	total := int64(len(m.Chunks)) * int64(m.ChunkBytes)
	for i, dg := range m.Chunks {
		if seen[dg] {
			continue
		}
		seen[dg] = true
		d.res.ChunksExpected++
		bar.update(int64(i)*int64(m.ChunkBytes), total)
		path := filepath.Join(d.out, cas.ChunksDir, dg.String())
		if have, err := os.ReadFile(path); err == nil && sha256.Sum256(have) == dg {
			d.res.ChunksSkipped++
			continue
		}
		if err := ctx.Err(); err != nil {
			return fail(exitFailed, "cas-tool download: interrupted after %d chunks; run it again to resume", d.res.ChunksFetched)
		}
		if d.stopAfter >= 0 && d.res.ChunksFetched >= d.stopAfter {
			return fail(exitFailed, "cas-tool download: stopped after %d chunks (--stop-after-chunks)", d.res.ChunksFetched)
		}
		b, err := c.Read(base+"/chunks/"+dg.String(), int(m.ChunkBytes))
		if err != nil {
			return fail(exitFailed, "cas-tool download: read chunk %s: %v", dg, err)
		}
		if sum := sha256.Sum256(b); sum != dg {
			return fail(exitFailed, "cas-tool download: chunk %s from the hive hashes to %s: not kept", dg, hex.EncodeToString(sum[:]))
		}
		if err := syncfile.Replace(path, b); err != nil {
			return fail(exitFailed, "cas-tool download: %v", err)
		}
		d.res.ChunksFetched++
		d.res.BytesFetched += int64(len(b))
	}
	return nil
}
