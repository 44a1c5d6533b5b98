package broker

// ClassStats are one class's counters since New. The JSON names are those
// of /v1/meta/status; the Prometheus names add the cohesix_gateway_broker_
// prefix (collector.go).
type ClassStats struct {
	Admitted  uint64 `json:"admitted"`  // calls queued
	Completed uint64 `json:"completed"` // calls whose fn returned in time (success or failure)
	Failed    uint64 `json:"failed"`    // of Completed, those whose fn returned an error
	Overflow  uint64 `json:"overflow"`  // calls refused because the queue was full (429)
	Deadline  uint64 `json:"deadline"`  // calls whose deadline passed before fn returned (504)
	Cancelled uint64 `json:"cancelled"` // calls whose caller went away first
	Closed    uint64 `json:"closed"`    // calls refused by Close, queued or new
	InFlight  int    `json:"in_flight"` // calls running now
	Depth     int    `json:"depth"`     // calls waiting now
	MaxDepth  int    `json:"max_depth"` // most calls ever waiting at once (≤ Capacity)
	Capacity  int    `json:"capacity"`  // the queue's bound
}

// Stats is a snapshot of the broker's counters.
type Stats struct {
	Workers   int        `json:"workers"`   // calls that may run at once
	InFlight  int        `json:"in_flight"` // calls running now (saturation = InFlight/Workers)
	Control   ClassStats `json:"control"`
	Telemetry ClassStats `json:"telemetry"`
}

// Stats returns the counters as one consistent snapshot.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{
		Workers:   b.cfg.Workers,
		Control:   b.classes[Control].stats,
		Telemetry: b.classes[Telemetry].stats,
	}
	s.Control.Depth, s.Control.InFlight = b.classes[Control].depth, b.classes[Control].running
	s.Telemetry.Depth, s.Telemetry.InFlight = b.classes[Telemetry].depth, b.classes[Telemetry].running
	s.InFlight = s.Control.InFlight + s.Telemetry.InFlight
	return s
}

// Class returns the counters of class c.
func (s Stats) Class(c Class) ClassStats {
	if c == Telemetry {
		return s.Telemetry
	}
	return s.Control
}
