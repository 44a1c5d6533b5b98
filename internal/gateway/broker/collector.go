package broker

import "github.com/prometheus/client_golang/prometheus"

// Prometheus descriptions. Every metric is read from one Stats snapshot per
// scrape, so /metrics and /v1/meta/status never disagree in kind.
var (
	descAdmitted  = classDesc("admitted_total", "Calls queued by the broker.")
	descCompleted = classDesc("completed_total", "Calls whose upstream call returned before the deadline.")
	descFailed    = classDesc("failed_total", "Completed calls whose upstream call returned an error.")
	descOverflow  = classDesc("overflow_total", "Calls refused because the class queue was full (HTTP 429).")
	descDeadline  = classDesc("deadline_total", "Calls whose deadline passed before the upstream call returned (HTTP 504).")
	descCancelled = classDesc("cancelled_total", "Calls whose caller went away before the upstream call returned.")
	descClosed    = classDesc("closed_total", "Calls refused because the broker was closing.")
	descRunning   = classDesc("class_in_flight", "Upstream calls of the class running now.")
	descDepth     = classDesc("queue_depth", "Calls waiting in the class queue now.")
	descMaxDepth  = classDesc("queue_max_depth", "Most calls ever waiting in the class queue at once.")
	descCapacity  = classDesc("queue_capacity", "The class queue's bound (manifest gateway.broker).")
	descInFlight  = prometheus.NewDesc("cohesix_gateway_broker_in_flight", "Upstream calls running now.", nil, nil)
	descWorkers   = prometheus.NewDesc("cohesix_gateway_broker_workers", "Upstream calls that may run at once.", nil, nil)
)

func classDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("cohesix_gateway_broker_"+name, help, []string{"class"}, nil)
}

// Collector returns a prometheus.Collector of the broker's counters, for
// the gateway's own registry.
func (b *Broker) Collector() prometheus.Collector { return collector{b} }

type collector struct{ b *Broker }

var _ prometheus.Collector = collector{}

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAdmitted, descCompleted, descFailed, descOverflow, descDeadline,
		descCancelled, descClosed, descRunning, descDepth, descMaxDepth, descCapacity, descInFlight, descWorkers} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.b.Stats()
	for _, class := range []Class{Control, Telemetry} {
		cs, label := s.Class(class), class.String()
		counter := func(d *prometheus.Desc, v uint64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
		}
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), label)
		}
		counter(descAdmitted, cs.Admitted)
		counter(descCompleted, cs.Completed)
		counter(descFailed, cs.Failed)
		counter(descOverflow, cs.Overflow)
		counter(descDeadline, cs.Deadline)
		counter(descCancelled, cs.Cancelled)
		counter(descClosed, cs.Closed)
		gauge(descRunning, cs.InFlight)
		gauge(descDepth, cs.Depth)
		gauge(descMaxDepth, cs.MaxDepth)
		gauge(descCapacity, cs.Capacity)
	}
	ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(s.InFlight))
	ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(s.Workers))
}
