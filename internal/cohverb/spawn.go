package cohverb

import (
	"slices"
	"strconv"
	"strings"
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

// SpawnJSON builds the /queen/ctl spawn line for "spawn <role> k=v...".
func SpawnJSON(args []string) (string, error) {
	if len(args) == 0 {
		return "", Usagef("spawn requires a role: heartbeat or gpu")
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
	return "", nil, Usagef("unknown spawn role '%s'", role)
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
			return nil, Usagef("spawn option '%s' must be key=value", kv)
		}
		if _, dup := vals[k]; dup {
			return nil, Usagef("duplicate spawn option '%s'", k)
		}
		vals[k] = v
		if !slices.ContainsFunc(keys, func(s spawnKey) bool { return s.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return nil, Usagef("unknown spawn options: %s", strings.Join(unknown, ", "))
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
			return nil, Usagef("spawn %s requires option '%s'", kind, k.name)
		case !ok:
			continue
		case k.bits == 0:
			if err := CheckJSONString(k.name, v); err != nil {
				return nil, err
			}
			continue
		}
		n, err := strconv.ParseUint(v, 10, k.bits)
		if err != nil {
			return nil, Usagef("invalid value for spawn option '%s': %s", k.name, v)
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
