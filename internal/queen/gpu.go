package queen

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/internal/auditline"
	"github.com/cohesix/cohesix/internal/errs"
	"github.com/cohesix/cohesix/internal/gpu"
)

// GPUNode is one published GPU as the authority holds it. Byte slices
// only grow or are replaced, so snapshots share them.
type GPUNode struct {
	ID       string
	Info     []byte
	MemoryMB uint32
	Ctl      []byte
	Lease    []byte
	Status   []byte
	Job      []byte
}

// GPUView is the immutable /gpu state in a Snapshot.
type GPUView struct {
	Published    bool
	BridgeLog    []byte
	BridgeStatus string
	Nodes        []GPUNode
	Models       []gpu.Model
	Active       []byte // the pointer file: one model id per line, last wins
	Schema       []byte
	Leases       map[string]string // worker id → gpu id of its ACTIVE lease
}

// Node returns the published GPU called id.
func (v *GPUView) Node(id string) (GPUNode, bool) {
	if v == nil {
		return GPUNode{}, false
	}
	return byID(v.Nodes, id, func(n GPUNode) string { return n.ID })
}

// Model returns the available model called id.
func (v *GPUView) Model(id string) (gpu.Model, bool) {
	if v == nil {
		return gpu.Model{}, false
	}
	return byID(v.Models, id, func(m gpu.Model) string { return m.ID })
}

// ActiveModel is the last line of the active pointer.
func (v *GPUView) ActiveModel() string {
	if v == nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(v.Active), "\n"), "\n")
	return lines[len(lines)-1]
}

// GPUFile names a writable file of /gpu.
type GPUFile uint8

const (
	GPUBridgeCtl GPUFile = iota // /gpu/bridge/ctl
	GPUCtl                      // /gpu/<id>/ctl
	GPULease                    // /gpu/<id>/lease
	GPUStatus                   // /gpu/<id>/status
	GPUJob                      // /gpu/<id>/job
	GPUActive                   // /gpu/models/active
)

// GPUWrite is one append to a writable /gpu file.
type GPUWrite struct {
	Who  Who
	File GPUFile
	GPU  string // node id for per-GPU files
	Data []byte
}

func (GPUWrite) isCmd() {}
func (c GPUWrite) apply(s *State, nowMs uint64) Result {
	s.as(c.Who)
	s.gpu.init()
	s.gpuExpire(nowMs)
	r := s.gpuWrite(c)
	s.gpu.publish()
	return r
}

// gpuLeaseRec is the authority's record of one ACTIVE lease.
type gpuLeaseRec struct {
	gpu      string
	lease    gpu.Lease
	expireMs uint64
}

type transfer struct {
	bytes int
	sha   string
	b64   []byte
}

// gpuState is the authority's /gpu bookkeeping.
type gpuState struct {
	lim     gpu.Limits
	nodes   []*GPUNode
	models  []gpu.Model
	active  []byte
	schema  []byte
	pub     bool
	log     []byte
	status  string
	pending *transfer
	leases  map[string]*gpuLeaseRec // worker id → lease
	view    *GPUView
}

func (g *gpuState) init() {
	if g.leases == nil {
		g.leases = map[string]*gpuLeaseRec{}
		g.lim = gpu.DefaultLimits()
		g.status = "state=idle"
		g.publish()
	}
}

func (g *gpuState) node(id string) *GPUNode {
	n, _ := byID(g.nodes, id, func(n *GPUNode) string { return n.ID })
	return n
}

func (g *gpuState) publish() {
	v := &GPUView{Published: g.pub, BridgeLog: slices.Clip(g.log), BridgeStatus: g.status,
		Models: slices.Clone(g.models), Active: slices.Clip(g.active), Schema: g.schema, Leases: map[string]string{}}
	for _, n := range g.nodes {
		c := *n
		c.Ctl, c.Lease, c.Status, c.Job = slices.Clip(n.Ctl), slices.Clip(n.Lease), slices.Clip(n.Status), slices.Clip(n.Job)
		v.Nodes = append(v.Nodes, c)
	}
	for w, l := range g.leases {
		v.Leases[w] = l.gpu
	}
	g.view = v
}

// appendBounded appends rec to a bounded line file, dropping the oldest
// whole lines when it would exceed max; the result is a fresh slice when
// lines were dropped so snapshots never see a shifted prefix.
func appendBounded(buf, rec []byte, max int) []byte {
	if len(buf)+len(rec) <= max {
		return append(buf, rec...)
	}
	data := append(slices.Clone(buf), rec...)
	for len(data) > max {
		i := bytes.IndexByte(data, '\n')
		if i < 0 || i == len(data)-1 {
			break
		}
		data = data[i+1:]
	}
	return slices.Clone(data)
}

// gpuTick expires leases whose TTL has passed; called on every Tick.
func (s *State) gpuTick(nowMs uint64) {
	if s.gpu.leases == nil {
		return
	}
	if s.gpuExpire(nowMs) {
		s.gpu.publish()
	}
}

func (s *State) gpuExpire(nowMs uint64) bool {
	var expired []string
	for w, l := range s.gpu.leases {
		if nowMs >= l.expireMs {
			expired = append(expired, w)
		}
	}
	slices.Sort(expired)
	for _, w := range expired {
		if wk, ok := s.workers[w]; ok && wk.Running {
			s.exit(wk, "ttl")
		}
		s.gpuRelease(w, "ttl")
	}
	return len(expired) > 0
}

// gpuRelease appends a RELEASED line for worker's lease, if it holds one.
func (s *State) gpuRelease(worker, reason string) {
	l, ok := s.gpu.leases[worker]
	if !ok {
		return
	}
	delete(s.gpu.leases, worker)
	rel := l.lease
	rel.State = gpu.LeaseReleased
	if n := s.gpu.node(l.gpu); n != nil {
		n.Lease = appendBounded(n.Lease, rel.Line(), s.gpu.lim.LeaseMax)
		n.Ctl = appendBounded(n.Ctl, []byte("RELEASE "+worker+"\n"), s.gpu.lim.CtlMax)
	}
	s.audit(fmt.Sprintf("gpu lease released gpu=%s worker=%s reason=%s", l.gpu, worker, reason))
	s.gpu.publish()
}

// gpuWorkerKilled is the kill hook: a killed GPU worker's lease ends.
func (s *State) gpuWorkerKilled(worker string) {
	if s.gpu.leases != nil {
		s.gpuRelease(worker, "kill")
	}
}

// spawnGPU grants a lease and allocates a worker-gpu (spec namespace §3).
func (s *State) spawnGPU(r CtlCommand, nowMs uint64) Result {
	s.gpu.init()
	s.gpuExpire(nowMs)
	deny := func(reason string, err error) Result {
		s.audit("spawn outcome=deny role=worker-gpu reason=" + reason)
		return Result{Err: err}
	}
	if !s.gpu.pub {
		return deny("gpu-unavailable", errs.New(errs.ErrBusy, "gpu namespace unavailable"))
	}
	l := r.Lease
	if !gpuLeaseShape(r, s.gpu.lim.IDMax) {
		return deny("invalid-payload", errs.New(errs.ErrInvalid, "invalid payload"))
	}
	n := s.gpu.node(l.GPUID)
	if n == nil {
		return deny("unknown-gpu gpu="+l.GPUID, errs.New(errs.ErrInvalid, "invalid path"))
	}
	if n.MemoryMB > 0 && l.MemMB > n.MemoryMB {
		return deny(fmt.Sprintf("mem-cap gpu=%s mem_mb=%d cap=%d", n.ID, l.MemMB, n.MemoryMB), errs.New(errs.ErrQuota, "buffer full"))
	}
	for w, have := range s.gpu.leases {
		if have.gpu == n.ID {
			return deny(fmt.Sprintf("leased gpu=%s worker=%s", n.ID, w), errs.New(errs.ErrBusy, "gpu %s leased", n.ID))
		}
	}
	if len(s.workers) >= s.cfg.MaxWorkers {
		return deny(fmt.Sprintf("buffer-full workers=%d max=%d", len(s.workers), s.cfg.MaxWorkers), errs.New(errs.ErrQuota, "buffer full"))
	}
	b, ok := s.spawnBudget(r.Budget, s.cfg.GPUDefaultOps, s.cfg.GPUDefaultTTLs)
	if !ok {
		return deny("invalid-payload", errs.New(errs.ErrInvalid, "invalid payload"))
	}
	id := s.newWorkerID()
	lease := gpu.Lease{Schema: gpu.LeaseSchema, State: gpu.LeaseActive, GPUID: n.ID, WorkerID: id, MemMB: l.MemMB, Streams: l.Streams, TTLs: l.TTLs}
	if l.Priority != nil {
		lease.Priority = *l.Priority
	}
	n.Lease = appendBounded(n.Lease, lease.Line(), s.gpu.lim.LeaseMax)
	n.Ctl = appendBounded(n.Ctl, []byte("LEASE "+id+"\n"), s.gpu.lim.CtlMax)
	s.gpu.leases[id] = &gpuLeaseRec{gpu: n.ID, lease: lease, expireMs: nowMs + uint64(l.TTLs)*1000}
	w := &Worker{ID: id, Role: "worker-gpu", Budget: b, SpawnedMs: nowMs, Running: true}
	s.addWorker(w)
	s.persistSpawn(w)
	s.audit(fmt.Sprintf("spawn worker=%s role=worker-gpu gpu=%s mem_mb=%d streams=%d ttl_s=%d priority=%d", id, n.ID, l.MemMB, l.Streams, l.TTLs, lease.Priority))
	s.gpu.publish()
	return Result{Worker: id}
}

// gpuWorkerCheck lets a worker-gpu write only its own GPU's files while its
// lease is ACTIVE.
func (s *State) gpuWorkerCheck(who Who, gpuID string) error {
	if who.Role == "queen" {
		return nil
	}
	l, ok := s.gpu.leases[who.Subject]
	if who.Role != "worker-gpu" || !ok || l.gpu != gpuID {
		s.audit(fmt.Sprintf("gpu access denied role=%s subject=%s gpu=%s reason=no-lease", who.Role, auditline.Field(who.Subject), auditline.Field(gpuID)))
		return errs.New(errs.ErrPermission, "EPERM")
	}
	return nil
}

func (s *State) gpuWrite(c GPUWrite) Result {
	switch {
	case c.File == GPUBridgeCtl:
		return s.bridgeCtl(c)
	case !s.gpu.pub:
		return Result{Err: errs.New(errs.ErrInvalid, "invalid path")}
	case c.File == GPUActive:
		return s.activate(c)
	}
	n := s.gpu.node(c.GPU)
	if n == nil {
		return Result{Err: errs.New(errs.ErrNotFound, "gpu %s not found", c.GPU)}
	}
	if err := s.gpuWorkerCheck(c.Who, n.ID); err != nil {
		return Result{Err: err}
	}
	rec := c.Data
	if len(rec) == 0 || rec[len(rec)-1] != '\n' {
		rec = append(slices.Clone(rec), '\n')
	}
	if write, ok := gpuFileWrites[c.File]; ok {
		if err := write(s, gpuAppend{who: c.Who, n: n, rec: rec, body: bytes.TrimRight(rec, "\n")}); err != nil {
			return Result{Err: err}
		}
	}
	return Result{Written: len(c.Data)}
}

// gpuAppend is one record for a per-GPU file: rec ends in a newline, body
// is rec without it.
type gpuAppend struct {
	who       Who
	n         *GPUNode
	rec, body []byte
}

// gpuFileWrites appends a record to each writable per-GPU file.
var gpuFileWrites = map[GPUFile]func(*State, gpuAppend) error{
	GPUCtl:    (*State).gpuCtlWrite,
	GPULease:  (*State).gpuLeaseWrite,
	GPUStatus: (*State).gpuStatusWrite,
	GPUJob:    (*State).gpuJobWrite,
}

// gpuInvalid writes line and refuses the record as an invalid payload.
func (s *State) gpuInvalid(line string) error {
	s.audit(line)
	return errs.New(errs.ErrInvalid, "invalid payload")
}

func (s *State) gpuCtlWrite(a gpuAppend) error {
	g, n := &s.gpu, a.n
	if len(a.rec) > g.lim.CtlMax || !validCtl(string(a.body)) {
		return s.gpuInvalid(fmt.Sprintf("gpu ctl outcome=deny gpu=%s reason=invalid-payload", n.ID))
	}
	n.Ctl = appendBounded(n.Ctl, a.rec, g.lim.CtlMax)
	s.audit(fmt.Sprintf("gpu ctl gpu=%s cmd=%s", n.ID, strings.Fields(string(a.body))[0]))
	return nil
}

// gpuLeaseWrite takes a RELEASED line from the queen: it ends the lease
// it names, or is recorded as it is.
func (s *State) gpuLeaseWrite(a gpuAppend) error {
	g, n := &s.gpu, a.n
	if a.who.Role != "queen" {
		s.audit(fmt.Sprintf("gpu lease outcome=deny role=%s gpu=%s reason=not-queen", a.who.Role, n.ID))
		return errs.New(errs.ErrPermission, "EPERM")
	}
	l, err := gpu.ParseLease(a.body, g.lim)
	if err != nil || l.GPUID != n.ID || l.State != gpu.LeaseReleased {
		return s.gpuInvalid(fmt.Sprintf("gpu lease outcome=deny gpu=%s reason=invalid-payload", n.ID))
	}
	if have, ok := g.leases[l.WorkerID]; ok && have.gpu == n.ID {
		s.gpuRelease(l.WorkerID, "released")
	} else {
		n.Lease = appendBounded(n.Lease, a.rec, g.lim.LeaseMax)
	}
	return nil
}

// gpuStatusWrite takes one JSON object; a breadcrumb must be a valid one.
func (s *State) gpuStatusWrite(a gpuAppend) error {
	g, n := &s.gpu, a.n
	if len(a.rec) > g.lim.BreadcrumbMax || !isJSONObject(a.body) {
		return s.gpuInvalid(fmt.Sprintf("gpu status outcome=deny gpu=%s reason=invalid-payload bytes=%d", n.ID, len(a.rec)))
	}
	var probe struct {
		Schema string `json:"schema"`
	}
	_ = json.Unmarshal(a.body, &probe)
	if probe.Schema == gpu.BreadcrumbSchema {
		if _, err := gpu.ParseBreadcrumb(a.body, g.lim); err != nil {
			return s.gpuInvalid(fmt.Sprintf("gpu status outcome=deny gpu=%s reason=invalid-breadcrumb", n.ID))
		}
	}
	n.Status = appendBounded(n.Status, a.rec, g.lim.StatusMax)
	return nil
}

// gpuJobWrite queues a job and records it as QUEUED in the status stream.
func (s *State) gpuJobWrite(a gpuAppend) error {
	g, n := &s.gpu, a.n
	if err := s.gate("worker-job"); err != nil {
		return err
	}
	var job struct {
		Job string `json:"job"`
	}
	if len(a.rec) > g.lim.JobMax || !isJSONObject(a.body) || json.Unmarshal(a.body, &job) != nil || !gpu.ValidID(job.Job, g.lim.IDMax) {
		return s.gpuInvalid(fmt.Sprintf("gpu job outcome=deny gpu=%s reason=invalid-payload", n.ID))
	}
	n.Job = appendBounded(n.Job, a.rec, g.lim.JobMax)
	n.Status = appendBounded(n.Status, []byte(`{"job":"`+job.Job+`","state":"QUEUED","detail":"accepted"}`+"\n"), g.lim.StatusMax)
	s.audit(fmt.Sprintf("gpu job queued gpu=%s job=%s", n.ID, job.Job))
	return nil
}

func validCtl(line string) bool {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "LEASE", "RELEASE":
		return len(f) <= 2
	case "RESET":
		return len(f) == 1
	case "PRIORITY":
		if len(f) != 2 {
			return false
		}
		_, err := strconv.ParseUint(f[1], 10, 8)
		return err == nil
	}
	return false
}

func isJSONObject(b []byte) bool {
	return len(b) > 0 && b[0] == '{' && json.Valid(b) && !bytes.ContainsAny(b, "\n")
}

// activate switches the active model pointer (spec gpu-telemetry §4).
func (s *State) activate(c GPUWrite) Result {
	g := &s.gpu
	if c.Who.Role != "queen" {
		s.audit(fmt.Sprintf("peft activate outcome=deny role=%s reason=not-queen", c.Who.Role))
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	id := strings.TrimRight(string(c.Data), "\n")
	if strings.Contains(id, "\n") || !gpu.ValidID(id, g.lim.ModelIDMax) {
		s.audit("peft activate outcome=deny reason=invalid-payload")
		return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
	}
	if !slices.ContainsFunc(g.models, func(m gpu.Model) bool { return m.ID == id }) && !s.casModelAvailable(id) {
		s.audit(fmt.Sprintf("peft activate outcome=deny model=%s reason=not-available", id))
		return Result{Err: errs.New(errs.ErrNotFound, "model %s not available", id)}
	}
	prev := (&GPUView{Active: g.active}).ActiveModel()
	g.active = appendBounded(g.active, []byte(id+"\n"), g.lim.ActiveMax)
	s.audit(fmt.Sprintf("peft activated model=%s previous=%s", id, prev))
	return Result{Written: len(c.Data)}
}

// bridgeCtl runs the publish channel (spec gpu-telemetry §3).
func (s *State) bridgeCtl(c GPUWrite) Result {
	g := &s.gpu
	if c.Who.Role != "queen" {
		s.audit(fmt.Sprintf("gpu bridge outcome=deny role=%s reason=not-queen", c.Who.Role))
		return Result{Err: errs.New(errs.ErrPermission, "EPERM")}
	}
	if err := s.gate("host-publish"); err != nil {
		return Result{Err: err}
	}
	for _, line := range strings.Split(string(c.Data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if reason := s.bridgeLine(line); reason != "" {
			return s.bridgeFail(reason)
		}
		g.log = appendBounded(g.log, []byte(line+"\n"), g.lim.BridgeLogMax)
	}
	return Result{Written: len(c.Data)}
}

// bridgeFail ends the transfer in progress with reason.
func (s *State) bridgeFail(reason string) Result {
	g := &s.gpu
	g.pending = nil
	g.status = "state=err reason=" + reason
	if len(g.status) > g.lim.BridgeStatMax {
		g.status = g.status[:g.lim.BridgeStatMax]
	}
	s.audit("gpu bridge publish outcome=deny reason=" + reason)
	return Result{Err: errs.New(errs.ErrInvalid, "invalid payload")}
}

// bridgeLine applies one line of the publish channel; it returns the
// reason the transfer fails, "" if it does not.
func (s *State) bridgeLine(line string) (fail string) {
	switch {
	case strings.HasPrefix(line, "begin "):
		return s.gpu.bridgeBegin(line)
	case strings.HasPrefix(line, "b64:"):
		return s.gpu.bridgeChunk(line[len("b64:"):])
	case line == "end":
		return s.bridgeEnd()
	}
	return "unknown-line"
}

// bridgeBegin starts a transfer: "begin bytes=<n> sha256=<hex>", exactly.
func (g *gpuState) bridgeBegin(line string) (fail string) {
	g.log = nil
	g.pending = nil
	var n int
	var sha string
	if _, err := fmt.Sscanf(line, "begin bytes=%d sha256=%s", &n, &sha); err != nil || n <= 0 || n > g.lim.PayloadMax || len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" || line != fmt.Sprintf("begin bytes=%d sha256=%s", n, sha) {
		return "invalid-begin"
	}
	g.pending = &transfer{bytes: n, sha: sha}
	g.status = fmt.Sprintf("state=receiving bytes=%d", n)
	return ""
}

// bridgeChunk adds base64 text to the transfer, no more than its bytes
// can encode to.
func (g *gpuState) bridgeChunk(b64 string) (fail string) {
	p := g.pending
	if p == nil {
		return "no-begin"
	}
	if len(p.b64)+len(b64) > 4*((p.bytes+2)/3) {
		return "too-long"
	}
	p.b64 = append(p.b64, b64...)
	return ""
}

// bridgeEnd checks the transfer's length and digest and installs the
// snapshot it carries.
func (s *State) bridgeEnd() (fail string) {
	g := &s.gpu
	p := g.pending
	if p == nil {
		return "no-begin"
	}
	g.pending = nil
	payload, err := base64.StdEncoding.Strict().DecodeString(string(p.b64))
	if err != nil || len(payload) != p.bytes {
		return "length-mismatch"
	}
	if gpu.SHA256Hex(payload) != p.sha {
		return "sha256-mismatch"
	}
	snap, err := gpu.ParseSnapshot(payload, g.lim)
	if err != nil {
		return "invalid-snapshot"
	}
	s.installSnapshot(snap)
	g.status = fmt.Sprintf("state=ok bytes=%d sha256=%s", p.bytes, p.sha)
	s.audit(fmt.Sprintf("gpu bridge publish outcome=ok bytes=%d sha256=%s nodes=%d models=%d active=%s", p.bytes, p.sha, len(snap.Nodes), len(snap.Models), snap.Active))
	return ""
}

// installSnapshot replaces the published GPUs, models and schema. A GPU
// that stays keeps its append-only lease, ctl, status and job streams (they
// are the hive's record, not the host's); the active pointer gets the
// snapshot's model appended when it differs from the current one.
func (s *State) installSnapshot(snap gpu.Snapshot) {
	g := &s.gpu
	var nodes []*GPUNode
	for _, sn := range snap.Nodes {
		info, _ := gpu.ParseInfo(sn.Info)
		n := &GPUNode{ID: sn.ID, Info: sn.Info, MemoryMB: info.MemoryMB, Ctl: sn.Ctl, Lease: sn.Lease, Status: sn.Status}
		if old := g.node(sn.ID); old != nil {
			n.Ctl, n.Lease, n.Status, n.Job = old.Ctl, old.Lease, old.Status, old.Job
		}
		nodes = append(nodes, n)
	}
	for w, l := range g.leases {
		if !slices.ContainsFunc(nodes, func(n *GPUNode) bool { return n.ID == l.gpu }) {
			if wk, ok := s.workers[w]; ok && wk.Running {
				s.exit(wk, "gpu-removed")
			}
			delete(g.leases, w)
		}
	}
	g.nodes = nodes
	g.models = snap.Models
	g.schema = snap.Schema
	if !g.pub || (&GPUView{Active: g.active}).ActiveModel() != snap.Active {
		g.active = appendBounded(g.active, []byte(snap.Active+"\n"), g.lim.ActiveMax)
	}
	g.pub = true
}
