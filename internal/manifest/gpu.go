package manifest

// checkGPU bounds the Go-port [gpu] section: every limit is positive and
// the bridge payload fits its own log (spec/gpu-telemetry.md §3).
func checkGPU(c *checker, m *Manifest) {
	g := m.GPU
	c.positive([]keyed{
		{"gpu.id_max_bytes", g.IDMaxBytes},
		{"gpu.bridge_payload_max_bytes", g.BridgePayloadMaxBytes},
		{"gpu.bridge_log_max_bytes", g.BridgeLogMaxBytes},
		{"gpu.bridge_status_max_bytes", g.BridgeStatusMaxBytes},
		{"gpu.ctl_max_bytes", g.CtlMaxBytes},
		{"gpu.lease_max_bytes", g.LeaseMaxBytes},
		{"gpu.status_max_bytes", g.StatusMaxBytes},
		{"gpu.job_max_bytes", g.JobMaxBytes},
		{"gpu.model_id_max_bytes", g.ModelIDMaxBytes},
		{"gpu.model_manifest_max_bytes", g.ModelManifestMaxBytes},
		{"gpu.active_max_bytes", g.ActiveMaxBytes},
		{"gpu.schema_max_bytes", g.SchemaMaxBytes},
		{"gpu.telemetry_record_max_bytes", g.TelemetryRecordMaxBytes},
		{"gpu.lora_jobs_max", g.LoraJobsMax},
	}...)
	c.max("gpu.id_max_bytes", g.IDMaxBytes, m.Secure9P.WalkComponentMaxBytes)
	c.max("gpu.model_id_max_bytes", g.ModelIDMaxBytes, 255)
}
