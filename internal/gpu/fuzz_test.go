package gpu

import (
	"bytes"
	"testing"
)

var fuzzLim = DefaultLimits()

func seedSnapshot() []byte {
	return Snapshot{
		Nodes:  []Node{{ID: "GPU-0", Info: RenderInfo(Info{ID: "GPU-0", Name: "Mock 4090", MemoryMB: 24576, SMCount: 144, DriverVersion: "555.0", RuntimeVersion: "12.4"}), Ctl: []byte("LEASE GPU-0\n")}},
		Models: []Model{{ID: "base", Manifest: []byte("# base\n")}},
		Active: "base",
		Schema: SchemaDescriptor(fuzzLim),
	}.Encode()
}

// FuzzParseSnapshot: never panics; an accepted payload re-encodes to one
// that parses to the same snapshot.
func FuzzParseSnapshot(f *testing.F) {
	f.Add(seedSnapshot())
	f.Add([]byte("schema gpu-bridge-snapshot/v1\nend\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSnapshot(b, fuzzLim)
		if err != nil {
			return
		}
		again, err := ParseSnapshot(s.Encode(), fuzzLim)
		if err != nil || again.Active != s.Active || len(again.Nodes) != len(s.Nodes) {
			t.Fatalf("re-encoded snapshot does not round-trip: %v", err)
		}
	})
}

// FuzzParseLease: accepted lines render back to a parseable line.
func FuzzParseLease(f *testing.F) {
	f.Add([]byte(`{"schema":"gpu-lease/v1","state":"ACTIVE","gpu_id":"GPU-0","worker_id":"worker-1","mem_mb":4096,"streams":1,"ttl_s":60,"priority":0}`))
	f.Add([]byte(`{"schema":"gpu-lease/v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLease(b, fuzzLim)
		if err != nil {
			return
		}
		if _, err := ParseLease(l.Line(), fuzzLim); err != nil {
			t.Fatalf("ParseLease(Line(%+v)) = %v", l, err)
		}
	})
}

// FuzzParseBreadcrumb: accepted breadcrumbs render within the line bound.
func FuzzParseBreadcrumb(f *testing.F) {
	f.Add([]byte(`{"schema":"gpu-breadcrumb/v1","event":"EXIT","command":"true","status":"OK","exit_code":0}`))
	f.Add([]byte(`{"schema":"gpu-breadcrumb/v1","event":"START","command":"x","status":"RUNNING"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bc, err := ParseBreadcrumb(b, fuzzLim)
		if err != nil {
			return
		}
		line, err := bc.Line(fuzzLim)
		if err == nil && len(line) > fuzzLim.BreadcrumbMax {
			t.Fatalf("breadcrumb line %d bytes", len(line))
		}
	})
}

// FuzzParseRecord: never panics; oversized input is always refused.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"schema_version":"gpu-telemetry/v1","device_id":"GPU-0","model_id":"base","time_window":{"start_ms":1,"end_ms":2},"token_count":5,"latency_histogram":[1,2]}`))
	f.Add(bytes.Repeat([]byte("x"), 4097))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseRecord(b, fuzzLim); err == nil && len(b) > fuzzLim.RecordMax {
			t.Fatalf("accepted a %d-byte record", len(b))
		}
	})
}
