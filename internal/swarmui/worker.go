package swarmui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
)

// Panels are the read-only panels (24c) and the namespace file each shows.
var Panels = map[string]string{
	"scheduler": "/proc/schedule/queue",
	"lease":     "/proc/lease/active",
	"gpu":       "/gpu/bridge/status",
}

// hiveStatus maps an upstream refusal onto an HTTP code; the hive's words
// go back in the body.
func hiveStatus(err error) int {
	switch {
	case errors.Is(err, linux.ENOENT):
		return http.StatusNotFound
	case errors.Is(err, linux.EACCES), errors.Is(err, linux.EPERM):
		return http.StatusForbidden
	}
	return http.StatusBadGateway
}

// readLines reads a file through the session's upstream (or the replay)
// and returns its last n lines (n <= 0: all).
func (s *Server) readLines(se *session, path string, n int) ([]string, error) {
	if s.local != nil {
		return nil, errOffline
	}
	b, err := se.hive.Read(path, generated.GatewayMaxReadBytes)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = []string{}
	}
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

var errOffline = errors.New("replay mode: the server has no hive to read")

// checkWorkerID keeps an id to one path component.
func checkWorkerID(id string) error {
	switch {
	case id == "":
		return errors.New("id is missing")
	case len(id) > generated.ConsolePathMax, strings.ContainsAny(id, "/ \x00"), id == ".", id == "..":
		return errors.New("id is not a worker id")
	}
	return nil
}

type workerDetail struct {
	ID        string   `json:"id"`
	Telemetry []string `json:"telemetry"`
	Lease     []string `json:"lease"`
	GPU       []string `json:"gpu"`
}

// worker is GET /api/worker?id=: the detail panel. A worker ticket may ask
// only for itself (the hive would refuse anyway; this answers 403 first).
func (s *Server) worker(w http.ResponseWriter, r *http.Request, se *session) {
	id := r.URL.Query().Get("id")
	if err := checkWorkerID(id); err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if se.role != "queen" && se.subject != id {
		writeErr(w, http.StatusForbidden, "a "+se.role+" ticket sees only its own worker "+se.subject)
		return
	}
	tel, err := s.telemetryTail(se, generated.SwarmuiPathsTelemetryRoot+"/"+id+"/telemetry")
	if err != nil {
		writeErr(w, hiveStatus(err), err.Error())
		return
	}
	d := workerDetail{ID: id, Telemetry: tel, Lease: []string{}, GPU: []string{}}
	if leases, err := s.readLines(se, Panels["lease"], 0); err == nil {
		for _, l := range leases {
			f := fields(l)
			if f["id"] != id {
				continue
			}
			d.Lease = append(d.Lease, l)
			if g, ok := strings.CutPrefix(f["resource"], "gpu/"); ok && checkWorkerID(g) == nil {
				if st, err := s.readLines(se, "/gpu/"+g+"/status", generated.SwarmuiHiveDetailLines); err == nil {
					d.GPU = append(d.GPU, st...)
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, d)
}

type panelResp struct {
	Name  string   `json:"name"`
	Path  string   `json:"path"`
	Lines []string `json:"lines"`
}

// panel is GET /api/panel?name=scheduler|lease|gpu.
func (s *Server) panel(w http.ResponseWriter, r *http.Request, se *session) {
	name := r.URL.Query().Get("name")
	path, ok := Panels[name]
	if !ok {
		writeErr(w, http.StatusBadRequest, "no panel named "+clip(name)+": scheduler, lease or gpu")
		return
	}
	lines, err := s.readLines(se, path, 0)
	if err != nil {
		writeErr(w, hiveStatus(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, panelResp{Name: name, Path: path, Lines: lines})
}

// telemetryTail reads the retained end of a worker's telemetry ring (an
// offset below the ring's base is stale, so the read starts one ring
// before the end) and keeps its last swarmui.hive.detail_lines lines.
func (s *Server) telemetryTail(se *session, path string) ([]string, error) {
	if s.local != nil {
		return nil, errOffline
	}
	st, err := se.hive.Stat(path)
	if err != nil {
		return nil, err
	}
	// The ring drops whole lines, so it may hold less than its size: a
	// stale offset is retried at half the distance from the end.
	var b []byte
	var off uint64
	for back := uint64(generated.TelemetryRingBytesPerWorker); ; back /= 2 {
		off = st.Size - min(st.Size, back)
		if b, err = se.hive.ReadFrom(path, int64(off), generated.TelemetryRingBytesPerWorker); err == nil || back <= 1 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first line may be cut by the ring
	}
	if len(lines) == 1 && lines[0] == "" {
		return []string{}, nil
	}
	return lines[max(0, len(lines)-generated.SwarmuiHiveDetailLines):], nil
}
