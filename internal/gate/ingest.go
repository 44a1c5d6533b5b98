package gate

import "github.com/cohesix/cohesix/internal/prov/queenfs"

// IngestStore persists what telemetry ingest accepted (DECISIONS D9); the
// /queen provider (internal/prov/queenfs) records each accepted command's
// outcome before the writer is answered, in the queen's order.
type IngestStore = queenfs.IngestStore

// SetIngestStore installs the persistent store for ingest outcomes. Call
// it before serving.
func (ns *Namespace) SetIngestStore(st IngestStore) { ns.queenFS.SetIngestStore(st) }
