package queen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The worker table is durable (DECISIONS P34): a spawn, the end of a
// budget and a kill are each a record, so a restart rebuilds the table
// the queen acknowledged. Counters and rings are not: a live worker
// resumes with the counters of its last record (zero since its spawn)
// and an empty ring.

// persistSpawn records a new worker: id, role, budget and spawn time.
func (s *State) persistSpawn(w *Worker) {
	b := w.Budget
	s.persist(record{K: "spawn", ID: w.ID, Role: w.Role, Budget: &b, Since: w.SpawnedMs})
}

// workerNum is the number of a worker id "worker-<n>" as newWorkerID
// writes it.
func workerNum(id string) (uint64, bool) {
	n, ok := strings.CutPrefix(id, "worker-")
	v, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || v == 0 || strconv.FormatUint(v, 10) != n {
		return 0, false
	}
	return v, true
}

// restoreWorker replays a spawn, exit or kill record; false for a spawn
// the queen could not have written.
func (s *State) restoreWorker(r record) bool {
	switch r.K {
	case "spawn":
		n, ok := workerNum(r.ID)
		if !ok || n+1 == 0 || r.Budget == nil || (r.Role != "worker-heartbeat" && r.Role != "worker-gpu") {
			return false
		}
		s.nextWorker = max(s.nextWorker, n+1)
		if _, dup := s.workers[r.ID]; !dup {
			s.addWorker(&Worker{ID: r.ID, Role: r.Role, Budget: *r.Budget, SpawnedMs: r.Since, Running: true})
		}
	case "exit":
		if w, ok := s.workers[r.ID]; ok {
			w.Running, w.ExitReason, w.Ticks, w.Ops = false, r.Reason, r.Ticks, r.Ops
			s.touch(w)
		}
	case "kill":
		s.removeWorker(r.ID)
	}
	return true
}

// endRestoredGPUWorkers ends the GPU workers a restart found live: their
// leases lived in /gpu, which is not durable and which the bridge
// republishes, so the hive no longer holds what they were granted. They
// leave the table as if killed, so their tickets are refused (P38).
func (s *State) endRestoredGPUWorkers() {
	for _, id := range slices.Clone(s.order) {
		if w := s.workers[id]; w.Role == "worker-gpu" && w.Running {
			s.removeWorker(id)
			s.audit(fmt.Sprintf("worker %s ended reason=restart role=worker-gpu revoked=true", id))
			s.persist(record{K: "kill", ID: id, Reason: "restart"})
		}
	}
}

// workerRecordID is the worker a spawn, exit or kill record is about, ""
// for any other record.
func workerRecordID(b []byte) string {
	for _, k := range []string{"spawn", "exit", "kill"} {
		if bytes.HasPrefix(b, []byte(`{"k":"`+k+`",`)) {
			var r record
			if json.Unmarshal(b, &r) == nil {
				return r.ID
			}
		}
	}
	return ""
}

// killedWorkers is the set of workers with a kill record among records.
func killedWorkers(records [][]byte) map[string]bool {
	gone := map[string]bool{}
	for _, b := range records {
		if bytes.HasPrefix(b, []byte(`{"k":"kill",`)) {
			if id := workerRecordID(b); id != "" {
				gone[id] = true
			}
		}
	}
	return gone
}
