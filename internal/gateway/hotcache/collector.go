package hotcache

import "github.com/prometheus/client_golang/prometheus"

// Prometheus descriptions, read from one Stats snapshot per scrape, so
// /metrics and /v1/meta/status report the same counters.
var (
	descHits          = prometheus.NewDesc("cohesix_gateway_cache_hits_total", "Hot /proc reads answered from the cache.", nil, nil)
	descMisses        = prometheus.NewDesc("cohesix_gateway_cache_misses_total", "Hot /proc reads the cache could not answer.", nil, nil)
	descEvictions     = prometheus.NewDesc("cohesix_gateway_cache_evictions_total", "Entries dropped to stay within the bound.", nil, nil)
	descExpirations   = prometheus.NewDesc("cohesix_gateway_cache_expirations_total", "Entries dropped because their TTL passed.", nil, nil)
	descInvalidations = prometheus.NewDesc("cohesix_gateway_cache_invalidations_total", "Entries dropped because a write was forwarded.", nil, nil)
	descCoalesced     = prometheus.NewDesc("cohesix_gateway_cache_coalesced_total", "Misses that waited for another caller's upstream read.", nil, nil)
	descEntries       = prometheus.NewDesc("cohesix_gateway_cache_entries", "Entries held now.", nil, nil)
	descMaxEntries    = prometheus.NewDesc("cohesix_gateway_cache_max_entries", "The cache's bound (manifest gateway.cache.max_entries).", nil, nil)
)

// Collector returns a prometheus.Collector of the cache's counters, for the
// gateway's own registry.
func (c *Cache) Collector() prometheus.Collector { return collector{c} }

type collector struct{ c *Cache }

var _ prometheus.Collector = collector{}

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHits, descMisses, descEvictions, descExpirations,
		descInvalidations, descCoalesced, descEntries, descMaxEntries} {
		ch <- d
	}
}

func (col collector) Collect(ch chan<- prometheus.Metric) {
	s := col.c.Stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(descHits, s.Hits)
	counter(descMisses, s.Misses)
	counter(descEvictions, s.Evictions)
	counter(descExpirations, s.Expirations)
	counter(descInvalidations, s.Invalidations)
	counter(descCoalesced, s.Coalesced)
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(s.Entries))
	ch <- prometheus.MustNewConstMetric(descMaxEntries, prometheus.GaugeValue, float64(s.MaxEntries))
}
