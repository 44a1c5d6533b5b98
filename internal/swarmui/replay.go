package swarmui

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/cohtrace"
)

// SnapshotMagic and SnapshotVersion identify a SwarmUI snapshot: a CBOR
// envelope {1: magic, 2: body bytes, 3: SHA-256 of the body}; the body is
// {1: version, 2: created_ms, 3: expires_ms, 4: frames}.
const (
	SnapshotMagic   = "COHESIX-SWARMUI-SNAPSHOT"
	SnapshotVersion = 1
)

type snapEnvelope struct {
	Magic  string `cbor:"1,keyasint"`
	Body   []byte `cbor:"2,keyasint"`
	SHA256 []byte `cbor:"3,keyasint"`
}

type snapBody struct {
	Version   int     `cbor:"1,keyasint"`
	CreatedMs int64   `cbor:"2,keyasint"`
	ExpiresMs int64   `cbor:"3,keyasint"`
	Frames    []Frame `cbor:"4,keyasint"`
}

var (
	encMode, _ = cbor.CoreDetEncOptions().EncMode()
	decMode, _ = cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, MaxArrayElements: generated.SwarmuiHiveSnapshotMaxEvents * maxWorkersPerFrame,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField}.DecMode()
)

// maxWorkersPerFrame bounds a decoded frame's worker list.
const maxWorkersPerFrame = 1 << 16 // limit-literal-ok: a decoder bound far above any hive, not a hive limit

// EncodeSnapshot seals frames into a snapshot created at now that expires
// after swarmui.cache.ttl_s.
func EncodeSnapshot(frames []Frame, now time.Time) ([]byte, error) {
	return EncodeSnapshotUntil(frames, now, now.Add(time.Duration(generated.SwarmuiCacheTtlS)*time.Second))
}

// EncodeSnapshotUntil seals frames with an explicit expiry (the committed
// fixtures use a far one so that they stay replayable).
func EncodeSnapshotUntil(frames []Frame, created, expires time.Time) ([]byte, error) {
	body, err := encMode.Marshal(snapBody{Version: SnapshotVersion, CreatedMs: created.UnixMilli(),
		ExpiresMs: expires.UnixMilli(), Frames: frames})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	return encMode.Marshal(snapEnvelope{Magic: SnapshotMagic, Body: body, SHA256: sum[:]})
}

// DecodeSnapshot opens a snapshot, refusing one that is malformed,
// truncated, tampered with (hash), of another version, or expired at now.
func DecodeSnapshot(b []byte, now time.Time) ([]Frame, error) {
	var env snapEnvelope
	if err := decMode.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("not a SwarmUI snapshot (malformed or truncated CBOR): %v", err)
	}
	if env.Magic != SnapshotMagic {
		return nil, errors.New("not a SwarmUI snapshot: wrong magic")
	}
	sum := sha256.Sum256(env.Body)
	if !bytes.Equal(sum[:], env.SHA256) {
		return nil, errors.New("the snapshot was altered: its SHA-256 does not match") // limit-literal-ok: the hash name
	}
	var body snapBody
	if err := decMode.Unmarshal(env.Body, &body); err != nil {
		return nil, fmt.Errorf("the snapshot body is malformed: %v", err)
	}
	if body.Version != SnapshotVersion {
		return nil, fmt.Errorf("snapshot version %d is not supported (this server reads %d)", body.Version, SnapshotVersion)
	}
	if now.UnixMilli() > body.ExpiresMs {
		return nil, fmt.Errorf("the snapshot expired at %s", time.UnixMilli(body.ExpiresMs).UTC().Format(time.RFC3339))
	}
	if len(body.Frames) == 0 {
		return nil, errors.New("the snapshot holds no frames")
	}
	for i := range body.Frames {
		if body.Frames[i].Workers == nil {
			body.Frames[i].Workers = []Worker{}
		}
		for j := range body.Frames[i].Workers {
			if body.Frames[i].Workers[j].Spark == nil {
				body.Frames[i].Workers[j].Spark = []float64{}
			}
		}
	}
	return body.Frames, nil
}

var (
	spawnReq  = regexp.MustCompile(`^echo \S+ \{"spawn":`)
	killReq   = regexp.MustCompile(`^echo \S+ \{"kill":"([^"]+)"\}`)
	workerRef = regexp.MustCompile(`/worker/(worker-[0-9]+)`)
)

// TraceFrames replays a COHTRACE recording into hive frames: a spawn the
// hive acknowledged adds the next worker id (the queen numbers workers
// worker-1, worker-2, ... in spawn order), an acknowledged kill removes
// it, a path under /worker names one that exists. A trace has no clock, so
// frames are swarmui.hive.step_ms apart.
func TraceFrames(b []byte) ([]Frame, error) {
	t, err := cohtrace.Decode(b, cohtrace.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("the trace is refused: %v", err)
	}
	var order []string
	live := map[string]bool{}
	add := func(id string) {
		if !live[id] {
			live[id] = true
			order = append(order, id)
		}
	}
	next := 0
	frames := make([]Frame, 0, len(t.Frames))
	for i, f := range t.Frames {
		req, ok := string(f.Req), strings.HasPrefix(string(f.Resp), "OK")
		switch {
		case spawnReq.MatchString(req) && ok:
			next++
			add(fmt.Sprintf("worker-%d", next))
		case killReq.MatchString(req) && ok:
			delete(live, killReq.FindStringSubmatch(req)[1])
		default:
			if m := workerRef.FindStringSubmatch(req); m != nil && ok {
				add(m[1])
			}
		}
		fr := Frame{Seq: uint64(i + 1), TMs: int64(i) * generated.SwarmuiHiveStepMs, Queen: Queen{Lifecycle: "ONLINE", Reachable: true}, Workers: []Worker{}}
		for _, id := range order {
			if live[id] {
				fr.Workers = append(fr.Workers, Worker{ID: id, Role: "worker-heartbeat", State: "ACTIVE", Reachable: true, Spark: []float64{}})
			}
		}
		fr.Queen.Workers = len(fr.Workers)
		frames = append(frames, fr)
	}
	if len(frames) == 0 {
		return nil, errors.New("the trace holds no frames")
	}
	return frames, nil
}

// DecodeReplay reads a .trace or a snapshot, told apart by the magic.
func DecodeReplay(b []byte, now time.Time) (kind string, frames []Frame, err error) {
	if bytes.HasPrefix(b, []byte(cohtrace.Magic)) {
		frames, err = TraceFrames(b)
		return "trace", frames, err
	}
	frames, err = DecodeSnapshot(b, now)
	return "snapshot", frames, err
}

type replayResp struct {
	Kind   string  `json:"kind"`
	Frames []Frame `json:"frames"`
}

// replay is POST /api/replay: the raw file in the body.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, _ *session) {
	b, err := io.ReadAll(io.LimitReader(r.Body, replayMax()+1))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "reading the file: "+err.Error())
		return
	}
	if int64(len(b)) > replayMax() {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("the file is over %d bytes", replayMax()))
		return
	}
	kind, frames, err := DecodeReplay(b, s.cfg.Now())
	if err != nil {
		s.log.Printf("replay refused: %v", err)
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, replayResp{Kind: kind, Frames: frames})
}

// replayMax is the largest replay upload: a trace's cap or a snapshot's.
func replayMax() int64 {
	return max(int64(generated.ClientPoliciesTraceMaxBytes), int64(generated.SwarmuiCacheMaxBytes)*snapshotScale)
}

// snapshotScale lets a snapshot of 1,000 workers through: the cache
// bound is per cached entry, a snapshot holds many.
const snapshotScale = 64 // limit-literal-ok: a multiple of swarmui.cache.max_bytes

// snapshot is GET /api/snapshot: the current state as a snapshot file.
func (s *Server) snapshot(w http.ResponseWriter, _ *http.Request, se *session) {
	now := s.cfg.Now()
	var fr Frame
	if s.local != nil {
		fr = s.local.last
	} else {
		q, raws, err := s.poll(se)
		if err != nil {
			writeErr(w, hiveStatus(err), err.Error())
			return
		}
		p := newProjector()
		p.apply(q, raws, now)
		fr = p.full(now)
	}
	b, err := EncodeSnapshot([]Frame{fr}, now)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Content-Disposition", `attachment; filename="swarmui-snapshot.cbor"`)
	w.Write(b)
}

// replayHive is --replay: the last frame of a file, served as the hive.
type replayHive struct{ last Frame }

func loadReplayFile(path string, now time.Time) (*replayHive, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	_, frames, err := DecodeReplay(b, now)
	if err != nil {
		return nil, fmt.Errorf("--replay %s: %v", path, err)
	}
	return &replayHive{last: frames[len(frames)-1]}, nil
}

func (h *replayHive) poll(time.Time) (Queen, []rawWorker, error) {
	raws := make([]rawWorker, 0, len(h.last.Workers))
	for _, w := range h.last.Workers {
		raws = append(raws, rawWorker{id: w.ID, role: w.Role, state: strings.ToLower(strings.Replace(w.State, "ACTIVE", "running", 1))})
	}
	return h.last.Queen, raws, nil
}
