package main

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ticket"
)

// spawnKey is one accepted spawn option: its JSON bit size and whether it
// is required. bits 0 means a JSON string.
type spawnKey struct {
	name     string
	bits     int
	required bool
}

var (
	heartbeatKeys = []spawnKey{{"ticks", 64, true}, {"ttl_s", 64, false}, {"ops", 64, false}}
	gpuKeys       = []spawnKey{
		{"gpu_id", 0, true}, {"mem_mb", 32, true}, {"streams", 8, true}, {"ttl_s", 32, true},
		{"priority", 8, false}, {"budget_ttl_s", 64, false}, {"budget_ops", 64, false},
	}
)

// spawnJSON builds the /queen/ctl spawn line for "spawn <role> k=v...".
func spawnJSON(args []string) (string, error) {
	if len(args) == 0 {
		return "", usagef("spawn requires a role: heartbeat or gpu")
	}
	kind, keys, err := spawnKind(args[0])
	if err != nil {
		return "", err
	}
	vals, err := spawnOptions(args[1:], keys)
	if err != nil {
		return "", err
	}
	num, err := spawnNumbers(kind, keys, vals)
	if err != nil {
		return "", err
	}
	var b spawnLine
	if kind == "heartbeat" {
		b.WriteString(`{"spawn":"heartbeat",`)
		b.field(true, "ticks", num["ticks"])
		b.budget(num, "ttl_s", "ops")
	} else {
		b.WriteString(`{"spawn":"gpu","lease":{`)
		b.field(true, "gpu_id", `"`+vals["gpu_id"]+`"`)
		b.field(false, "mem_mb", num["mem_mb"])
		b.field(false, "streams", num["streams"])
		b.field(false, "ttl_s", num["ttl_s"])
		if p, ok := num["priority"]; ok {
			b.field(false, "priority", p)
		}
		b.WriteByte('}')
		b.budget(num, "budget_ttl_s", "budget_ops")
	}
	b.WriteByte('}')
	return b.String(), nil
}

// spawnKind maps a spawn role, aliases included, to its kind and options.
func spawnKind(role string) (string, []spawnKey, error) {
	switch strings.ToLower(role) {
	case "heartbeat", "worker", "worker-heartbeat":
		return "heartbeat", heartbeatKeys, nil
	case "gpu", "worker-gpu":
		return "gpu", gpuKeys, nil
	}
	return "", nil, usagef("unknown spawn role '%s'", role)
}

// spawnOptions reads the k=v words (keys case-insensitive, each once),
// refusing every key that is not in keys at once.
func spawnOptions(kvs []string, keys []spawnKey) (map[string]string, error) {
	vals := map[string]string{}
	var unknown []string
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ToLower(k)
		if !ok || k == "" {
			return nil, usagef("spawn option '%s' must be key=value", kv)
		}
		if _, dup := vals[k]; dup {
			return nil, usagef("duplicate spawn option '%s'", k)
		}
		vals[k] = v
		if !slices.ContainsFunc(keys, func(s spawnKey) bool { return s.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return nil, usagef("unknown spawn options: %s", strings.Join(unknown, ", "))
	}
	return vals, nil
}

// spawnNumbers checks every option against its key, in key order, and
// returns the numeric ones in canonical decimal.
func spawnNumbers(kind string, keys []spawnKey, vals map[string]string) (map[string]string, error) {
	num := map[string]string{}
	for _, k := range keys {
		v, ok := vals[k.name]
		switch {
		case !ok && k.required:
			return nil, usagef("spawn %s requires option '%s'", kind, k.name)
		case !ok:
			continue
		case k.bits == 0:
			if err := checkJSONString(k.name, v); err != nil {
				return nil, err
			}
			continue
		}
		n, err := strconv.ParseUint(v, 10, k.bits)
		if err != nil {
			return nil, usagef("invalid value for spawn option '%s': %s", k.name, v)
		}
		num[k.name] = strconv.FormatUint(n, 10)
	}
	return num, nil
}

// spawnLine writes the spawn JSON in its fixed field order.
type spawnLine struct{ strings.Builder }

func (b *spawnLine) field(first bool, k, v string) {
	if !first {
		b.WriteByte(',')
	}
	b.WriteString(`"` + k + `":` + v)
}

// budget writes the optional budget object from the ttl and ops options.
func (b *spawnLine) budget(num map[string]string, ttlKey, opsKey string) {
	ttl, hasTTL := num[ttlKey]
	ops, hasOps := num[opsKey]
	if !hasTTL && !hasOps {
		return
	}
	b.WriteString(`,"budget":{`)
	if hasTTL {
		b.field(true, "ttl_s", ttl)
	}
	if hasOps {
		b.field(!hasTTL, "ops", ops)
	}
	b.WriteByte('}')
}

// lifecycleFrom lists the states each lifecycle command may start from
// (roles-tickets.md §7); resume and reset accept all but one state.
var lifecycleFrom = map[string]func(state string) bool{
	"cordon":  func(s string) bool { return s == "ONLINE" || s == "DEGRADED" },
	"drain":   func(s string) bool { return s == "DRAINING" },
	"quiesce": func(s string) bool { return s == "ONLINE" || s == "DEGRADED" || s == "DRAINING" },
	"resume":  func(s string) bool { return s != "ONLINE" },
	"reset":   func(s string) bool { return s != "BOOTING" },
}

// lifecycleStatePath is the file that shows the node's lifecycle state.
const lifecycleStatePath = "/proc/lifecycle/state"

func (sh *shell) lifecycle(ctx context.Context, args []string) result {
	if len(args) != 1 || lifecycleFrom[args[0]] == nil {
		return localErr(usagef("lifecycle takes one of: cordon, drain, resume, quiesce, reset"))
	}
	if !sh.attached || sh.role != ticket.RoleQueen.String() {
		return localErr(errors.New("lifecycle requires an attached queen session"))
	}
	action := args[0]
	resp, err := sh.wire(ctx, string(console.Cat)+" "+lifecycleStatePath)
	if !respOK(resp, err) {
		return result{lines: resp.Raw, ack: resp.AckLine(), source: sourceServer, failed: true, err: err}
	}
	state := ""
	for _, l := range resp.Lines {
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "state="); ok && state == "" {
				state = v
			}
		}
	}
	if !lifecycleFrom[action](state) {
		a := console.Ack{Label: console.LabelLifecycle, Detail: "action=" + action + " state=" + state + " reason=invalid-transition"}
		line := a.Render(sh.lim)
		return result{lines: []string{line}, ack: line, source: sourceCohsh, failed: true}
	}
	return sh.wireResult(ctx, string(console.Echo)+" "+generated.ClientPathsQueenLifecycleCtl+" "+action)
}
