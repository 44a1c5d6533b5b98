package manifest

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The schema structs (schema.go) are the manifest's one key table. A field
// declares its key once: the name (toml tag), the type (Go type), the checks
// (rule tags), the doc-snippet text (doc tag) and, through GoName of its
// path, the constant coh-rtc generates. Validation, the resolved tree, the
// doc snippets and the Go generator all read the keys from here.
//
// Why struct tags rather than a separate declarative table: the TOML decoder
// needs every key name in a tag anyway, so a second table would restate each
// name and could drift from the struct. The tags are parsed once, when the
// package loads, and a tag that names an unknown rule, red line, set or key
// panics then, so a typo fails every test instead of passing quietly.
//
// Rule tags, any number per field (for a list of strings they apply to each
// element):
//
//	min:"N"        integer below N: "is below the minimum N"
//	max:"N"        integer above N: "exceeds the maximum N"
//	le:"key"       integer above another key's: "exceeds key = V"
//	ge:"key"       integer below another key's: "is below key = V"
//	longest:"T"    a /proc byte cap that must hold the line template T renders
//	oneof:"set"    string in one of the enums (redlines.go)
//	bytes:"N"      string of 1..N bytes
//	check:"name"   a string check of stringChecks
//	requires:"key" bool that may be true only when key is true
//	when:"key"     bool that must be true when key is true
//	not_when:"key" bool that may not be true when key is true
//	doc:"text"     the key's row text in the doc snippets; 'x' renders as `x`,
//	               because a tag cannot hold a backquote
//
// N is an integer or the name of a red line (redLineNames); max also takes a
// key path. key is a full key path outside arrays of tables.

// key is one manifest key as its schema field declares it.
type key struct {
	name  string // TOML key
	index int    // field index in the struct
	doc   string // doc-snippet row text; "" keeps the key out of the tables
	rules []rule
}

// rule checks the value v of the key at path p.
type rule func(c *checker, p string, v reflect.Value)

// schemaKeys holds the keys of every struct type of the schema, in
// declaration order.
var schemaKeys = map[reflect.Type][]key{}

func init() { indexSchema(reflect.TypeOf(Manifest{})) }

// keysOf returns the keys of a schema struct type in declaration order.
func keysOf(t reflect.Type) []key { return schemaKeys[t] }

// keysByName returns the keys of a schema struct type ordered by name.
func keysByName(t reflect.Type) []key {
	ks := append([]key(nil), keysOf(t)...)
	sort.Slice(ks, func(a, b int) bool { return ks[a].name < ks[b].name })
	return ks
}

func indexSchema(t reflect.Type) {
	switch t.Kind() {
	case reflect.Slice:
		indexSchema(t.Elem())
	case reflect.Struct:
		if _, done := schemaKeys[t]; done {
			return
		}
		ks := make([]key, t.NumField())
		for i := range ks {
			f := t.Field(i)
			ks[i] = key{name: f.Tag.Get("toml"), index: i, doc: strings.ReplaceAll(f.Tag.Get("doc"), "'", "`"), rules: rulesOf(f)}
			indexSchema(f.Type)
		}
		schemaKeys[t] = ks
	}
}

// ruleTags maps each rule tag to the value kind it checks and its builder.
var ruleTags = []struct {
	tag   string
	kind  reflect.Kind
	build func(arg string) rule
}{
	{"min", reflect.Int64, minRule},
	{"max", reflect.Int64, maxRule},
	{"le", reflect.Int64, cmpRule(func(v, lim int64) bool { return v > lim }, "exceeds")},
	{"ge", reflect.Int64, cmpRule(func(v, lim int64) bool { return v < lim }, "is below")},
	{"longest", reflect.Int64, longestRule},
	{"oneof", reflect.String, oneOfRule},
	{"bytes", reflect.String, bytesRule},
	{"check", reflect.String, checkRule},
	{"requires", reflect.Bool, boolRule(true, false, "requires %s = true")},
	{"when", reflect.Bool, boolRule(false, true, "must be true when %s = true")},
	{"not_when", reflect.Bool, boolRule(true, true, "is not allowed when %s = true")},
}

func rulesOf(f reflect.StructField) []rule {
	kind := f.Type.Kind()
	if kind == reflect.Slice {
		kind = f.Type.Elem().Kind()
	}
	var rules []rule
	for _, rt := range ruleTags {
		arg, ok := f.Tag.Lookup(rt.tag)
		if !ok {
			continue
		}
		if kind != rt.kind {
			panic(fmt.Sprintf("manifest: %s tag on %s field %s", rt.tag, kind, f.Name))
		}
		rules = append(rules, rt.build(arg))
	}
	return rules
}

// bound reads an integer tag argument: a literal or a red line's name.
func bound(arg string) int64 {
	if n, err := strconv.ParseInt(arg, 10, 64); err == nil {
		return n
	}
	n, ok := redLineNames[arg]
	if !ok {
		panic("manifest: schema tag names unknown red line " + arg)
	}
	return n
}

// keyRef is another key a rule compares with, resolved to its field index.
type keyRef struct {
	path  string
	index []int
}

// refTo resolves a key path of the schema outside arrays of tables.
func refTo(path string) keyRef {
	t := reflect.TypeOf(Manifest{})
	var index []int
	for _, name := range strings.Split(path, ".") {
		f, ok := fieldNamed(t, name)
		if !ok {
			panic("manifest: schema tag names unknown key " + path)
		}
		index = append(index, f.Index...)
		t = f.Type
	}
	return keyRef{path, index}
}

func fieldNamed(t reflect.Type, name string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("toml") == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func minRule(arg string) rule {
	n := bound(arg)
	return func(c *checker, p string, v reflect.Value) { c.min(p, v.Int(), n) }
}

func maxRule(arg string) rule {
	if strings.Contains(arg, ".") {
		r := refTo(arg)
		return func(c *checker, p string, v reflect.Value) { c.max(p, v.Int(), c.at(r).Int()) }
	}
	n := bound(arg)
	return func(c *checker, p string, v reflect.Value) { c.max(p, v.Int(), n) }
}

// cmpRule builds le and ge: the value may not lie beyond another key's.
func cmpRule(beyond func(v, lim int64) bool, words string) func(string) rule {
	return func(arg string) rule {
		r := refTo(arg)
		return func(c *checker, p string, v reflect.Value) {
			if lim := c.at(r).Int(); beyond(v.Int(), lim) {
				c.add(p, v.Int(), "%s %s = %d", words, r.path, lim)
			}
		}
	}
}

// boolRule builds requires, when and not_when: the rule is broken when the
// key holds self while the other key holds other.
func boolRule(self, other bool, format string) func(string) rule {
	return func(arg string) rule {
		r := refTo(arg)
		return func(c *checker, p string, v reflect.Value) {
			if v.Bool() == self && c.at(r).Bool() == other {
				c.add(p, self, format, r.path)
			}
		}
	}
}

func oneOfRule(arg string) rule {
	set, ok := enums[arg]
	if !ok {
		panic("manifest: schema tag names unknown set " + arg)
	}
	return func(c *checker, p string, v reflect.Value) { c.oneOf(p, v.String(), set) }
}

func bytesRule(arg string) rule {
	n := bound(arg)
	return func(c *checker, p string, v reflect.Value) {
		if s := v.String(); s == "" || int64(len(s)) > n {
			c.add(p, s, "must be 1..%d bytes", n)
		}
	}
}

// stringChecks are the named checks of the check tag.
var stringChecks = map[string]func(c *checker, key, v string){
	"nonempty":        (*checker).nonEmpty,
	"abspath":         func(c *checker, key, v string) { c.absPath(key, v, false) },
	"abspath-or-root": func(c *checker, key, v string) { c.absPath(key, v, true) },
	"hostport":        (*checker).hostPort,
	"ip":              (*checker).ipAddr,
	"ipv4prefix":      (*checker).ipv4Prefix,
	"ipv4":            (*checker).ipv4Addr,
	"name":            (*checker).sidecarName,
}

func checkRule(arg string) rule {
	check, ok := stringChecks[arg]
	if !ok {
		panic("manifest: schema tag names unknown check " + arg)
	}
	return func(c *checker, p string, v reflect.Value) { check(c, p, v.String()) }
}

// longestRule sizes a /proc node: its byte cap must hold the longest line it
// renders, which the template spells with the placeholders of lineWidths.
func longestRule(tmpl string) rule {
	if strings.ContainsAny(lineWidths(Defaults()).Replace(tmpl), "{}") {
		panic("manifest: unknown placeholder in longest tag " + strconv.Quote(tmpl))
	}
	return func(c *checker, p string, v reflect.Value) {
		c.obsBytes(p, v.Int(), int64(len(c.widths().Replace(tmpl))))
	}
}

// Widths of rendered decimal values, used to size /proc lines.
var (
	u64Max = strconv.FormatUint(^uint64(0), 10)
	u32Max = strconv.FormatUint(uint64(^uint32(0)), 10)
	u16Max = strconv.FormatUint(uint64(^uint16(0)), 10)
	u8Max  = strconv.FormatUint(uint64(^uint8(0)), 10)
)

// lineWidths fills a longest template with the widest value of each field:
// full-width integers, identifiers as long as the manifest allows, and one
// "shard <label> <count>" line per shard of /proc/9p/sessions.
func lineWidths(m *Manifest) *strings.Replacer {
	return strings.NewReplacer(
		"{u64}", u64Max, "{u32}", u32Max, "{u16}", u16Max, "{u8}", u8Max,
		"{worker_id}", strings.Repeat("w", int(max(m.Console.WorkerIDMax, 0))),
		"{gpu_id}", strings.Repeat("g", int(max(m.GPU.IDMaxBytes, 0))),
		"{identity}", strings.Repeat("x", maxIdentityBytes),
		"{shards}", shardLines(m),
	)
}

func shardLines(m *Manifest) string {
	sh := m.Sharding
	if !sh.Enabled || sh.ShardBits < 0 || sh.ShardBits > maxShardBits {
		return ""
	}
	label := max((int(sh.ShardBits)+3)/4, 1)
	return strings.Repeat("shard "+strings.Repeat("f", label)+" "+u64Max+"\n", 1<<sh.ShardBits)
}
