package gateway

import (
	"net/http"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// metrics are the gateway's counters, in its own registry: Prometheus
// text at /metrics and the same values as JSON in /v1/meta/status.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec // by route and HTTP status
	badInput   *prometheus.CounterVec // by problem code
	authFail   prometheus.Counter
	retryEarly prometheus.Counter // 429s held until the connection's Retry-After
}

func newMetrics(p *pool) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohesix_gateway_requests_total",
			Help: "HTTP requests answered, by route and status."}, []string{"route", "code"}),
		badInput: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohesix_gateway_bad_input_total",
			Help: "Requests refused before any upstream call, by problem code."}, []string{"code"}),
		authFail: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohesix_gateway_auth_failures_total",
			Help: "Requests refused for a missing or wrong request-auth token."}),
		retryEarly: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohesix_gateway_retry_early_total",
			Help: "Requests refused again on a connection before its Retry-After had passed; their 429 waited until it had."}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(m.requests, m.badInput, m.authFail, m.retryEarly,
		gauge("cohesix_gateway_upstream_sessions", "Upstream Secure9P sessions kept.", func() float64 {
			n, _, _, _ := p.stats()
			return float64(n)
		}),
		gauge("cohesix_gateway_hive_up", "1 while the hive is reachable.", func() float64 {
			if _, up, _, _ := p.stats(); up {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cohesix_gateway_upstream_dials_total",
			Help: "Upstream sessions dialled."}, func() float64 {
			_, _, d, _ := p.stats()
			return float64(d)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cohesix_gateway_upstream_evictions_total",
			Help: "Upstream sessions closed for room or idleness."}, func() float64 {
			_, _, _, e := p.stats()
			return float64(e)
		}),
	)
	return m
}

// register adds collectors of other packages (broker, hotcache).
func (m *metrics) register(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// snapshot flattens every sample to name{label="v",...} → value.
func (m *metrics) snapshot() map[string]float64 {
	out := map[string]float64{}
	fams, _ := m.reg.Gather()
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			out[sampleName(f.GetName(), s.GetLabel())] = sampleValue(s)
		}
	}
	return out
}

func sampleName(name string, labels []*dto.LabelPair) string {
	if len(labels) == 0 {
		return name
	}
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, l.GetName()+"=\""+l.GetValue()+"\"")
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func sampleValue(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Untyped != nil:
		return s.Untyped.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	case s.Summary != nil:
		return float64(s.Summary.GetSampleCount())
	}
	return 0
}
