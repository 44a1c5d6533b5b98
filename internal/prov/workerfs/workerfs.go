// Package workerfs is the /worker and /shard providers: each live worker's
// telemetry ring, listed in spawn order, directly under /worker and under
// its shard, /shard/<label>/worker (spec secure9p §12).
package workerfs

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/ns"
	"github.com/cohesix/cohesix/internal/prov"
	"github.com/cohesix/cohesix/internal/queen"
)

// Queen is what the provider needs of the authority (prov.Queen).
type Queen = prov.Queen

// Config is what /worker and /shard are built from.
type Config struct {
	Queen     Queen
	ShardBits int // /shard has 1<<ShardBits labels
}

// Workers returns the /worker provider: every live worker.
func Workers(cfg Config) ns.Provider {
	return ns.Plain(workerDir(cfg.Queen, func(string) bool { return true }))
}

// Shards returns the /shard provider: each label's workers.
func Shards(cfg Config) ns.Provider { return ns.Plain(shardDir(cfg)) }

// ShardLabel is the two-hex-digit shard of a worker id among 1<<bits
// shards (spec secure9p §12); with bits 0 every worker is in "00".
func ShardLabel(id string, bits int) string {
	if bits == 0 {
		return "00"
	}
	d := sha256.Sum256([]byte(id))
	return fmt.Sprintf("%02x", d[0]>>(8-bits))
}

// telemetryFile is a worker's telemetry ring. Offsets are absolute: bytes
// before the ring's base have been overwritten and are stale.
type telemetryFile struct {
	ns.NotDir
	q  Queen
	id string
}

func (f telemetryFile) ring() (queen.Ring, error) {
	w, ok := f.q.Snapshot().Worker(f.id)
	if !ok {
		return queen.Ring{}, errs.New(errs.ErrClosed, "worker %s revoked", f.id)
	}
	return w.Ring, nil
}

func (f telemetryFile) Stat() (ns.Stat, error) {
	r, err := f.ring()
	if err != nil {
		return ns.Stat{}, err
	}
	return ns.Stat{Kind: ns.KindAppend, Size: r.End()}, nil
}

func (f telemetryFile) ReadAt(p []byte, off int64) (int, error) {
	r, err := f.ring()
	if err != nil {
		return 0, err
	}
	if off < int64(r.Base) {
		return 0, errs.New(errs.ErrInvalid, "append-only offset %d is stale; oldest available %d", off, r.Base)
	}
	return ns.ReadBytes(r.Data, p, off-int64(r.Base))
}

func (f telemetryFile) Append(c ns.Caller, p []byte, _ int64) (int, error) {
	r, err := f.q.Do(context.Background(), queen.TelemetryAppend{Who: queen.WhoOf(c), Worker: f.id, Data: p})
	if err != nil {
		return 0, err
	}
	return r.Written, nil
}

// Base implements ns.Windowed.
func (f telemetryFile) Base() (uint64, error) {
	r, err := f.ring()
	return r.Base, err
}

var (
	_ ns.Node     = telemetryFile{}
	_ ns.Windowed = telemetryFile{}
)

func workerNode(q Queen, id string) ns.Node {
	return ns.Static{DirOps: ns.DirOps{Path: "/worker/" + id}, Entries: []ns.Entry{{Name: "telemetry", Node: telemetryFile{q: q, id: id}}}}
}

// workerDir lists the workers that keep selects, in spawn order.
func workerDir(q Queen, keep func(id string) bool) ns.Node {
	return ns.Dynamic{
		DirOps: ns.DirOps{Path: "/worker"},
		Names: func() []string {
			var ids []string
			for _, w := range q.Snapshot().Workers() {
				if keep(w.ID) {
					ids = append(ids, w.ID)
				}
			}
			return ids
		},
		Child: func(name string) (ns.Node, bool) {
			if _, ok := q.Snapshot().Worker(name); ok && keep(name) {
				return workerNode(q, name), true
			}
			return nil, false
		},
	}
}

// shardDir lists every label; a label's worker directory keeps the
// workers whose id hashes to it.
func shardDir(cfg Config) ns.Node {
	n := 1 << cfg.ShardBits
	labels := make([]string, n)
	for i := range labels {
		labels[i] = fmt.Sprintf("%02x", i)
	}
	return ns.Dynamic{
		DirOps: ns.DirOps{Path: "/shard"},
		Names:  func() []string { return labels },
		Child: func(label string) (ns.Node, bool) {
			if !validLabel(label, n) {
				return nil, false
			}
			return ns.Static{DirOps: ns.DirOps{Path: "/shard/" + label}, Entries: []ns.Entry{
				{Name: "worker", Node: workerDir(cfg.Queen, func(id string) bool { return ShardLabel(id, cfg.ShardBits) == label })},
			}}, true
		},
	}
}

// validLabel reports whether label is one of the n labels: two lower-case
// hex digits below n.
func validLabel(label string, n int) bool {
	var v int
	if len(label) != 2 || strings.ToLower(label) != label {
		return false
	}
	_, err := fmt.Sscanf(label, "%02x", &v)
	return err == nil && v < n
}
