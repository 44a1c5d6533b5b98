package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gpu"
	"github.com/cohesix/cohesix/internal/gpumodel"
	"github.com/cohesix/cohesix/internal/syncfile"
)

// activeState is <registry>/active_state.toml.
type activeState struct {
	Current  string `toml:"current"`
	Previous string `toml:"previous"`
}

var registryFlag = &cli.StringFlag{Name: "registry", Value: generated.ClientPoliciesCohPeftImportRegistryRoot, Usage: "Host model registry"}

func peftCmd(e *env) *cli.Command {
	return &cli.Command{
		Name:  "peft",
		Usage: "Export LoRA jobs, import adapters, activate and roll back models",
		Subcommands: []*cli.Command{
			{Name: "export", Usage: "Copy a LoRA export job into DIR/<job>", Flags: []cli.Flag{&cli.StringFlag{Name: "job", Required: true, Usage: "LoRA export job id"}, &cli.StringFlag{Name: "out", Required: true, Usage: "Directory to copy the job into"}}, Action: func(c *cli.Context) error {
				job := c.String("job")
				if !gpu.ValidID(job, generated.Secure9pWalkComponentMaxBytes) {
					return fail(exitUsage, "coh: invalid --job")
				}
				cl, err := dialHive(c)
				if err != nil {
					return err
				}
				defer cl.Close()
				base := generated.ClientPoliciesCohPeftExportRoot + "/" + job
				for _, f := range []struct {
					name string
					max  int
				}{{"telemetry.cbor", generated.ClientPoliciesCohPeftExportMaxTelemetryBytes}, {"base_model.ref", generated.ClientPoliciesCohPeftExportMaxBaseModelBytes}, {"policy.toml", generated.ClientPoliciesCohPeftExportMaxPolicyBytes}} {
					b, err := cl.Read(base+"/"+f.name, f.max)
					if err != nil {
						return fail(exitFailed, "ERR CAT path=%s/%s error=%v", base, f.name, err)
					}
					dst := filepath.Join(c.String("out"), job, f.name)
					if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
						fmt.Fprintf(e.stdout, "OK EXPORT path=%s action=skip bytes=%d\n", dst, len(b))
						continue
					}
					if err := syncfile.Replace(dst, b); err != nil {
						return fail(exitFailed, "coh: %v", err)
					}
					fmt.Fprintf(e.stdout, "OK EXPORT path=%s action=write bytes=%d\n", dst, len(b))
				}
				return nil
			}},
			{Name: "import", Usage: "Stage an adapter with hash, size and provenance checks", Flags: []cli.Flag{
				&cli.StringFlag{Name: "model", Required: true, Usage: "Model id"}, &cli.StringFlag{Name: "from", Required: true, Usage: "Directory holding adapter.safetensors, lora.json, metrics.json, provenance.toml"},
				&cli.StringFlag{Name: "job", Required: true, Usage: "LoRA export job id"}, &cli.StringFlag{Name: "export", Required: true, Usage: "Directory a `peft export` wrote"}, registryFlag,
			}, Action: func(c *cli.Context) error { return peftImport(e, c) }},
			{Name: "activate", Usage: "Switch /gpu/models/active to a model", Flags: []cli.Flag{&cli.StringFlag{Name: "model", Required: true, Usage: "Model id"}, registryFlag}, Action: func(c *cli.Context) error {
				return activate(e, c, c.String("model"), false)
			}},
			{Name: "rollback", Usage: "Switch back to the previous model", Flags: []cli.Flag{registryFlag}, Action: func(c *cli.Context) error {
				st, err := readState(c.String("registry"))
				if err != nil || st.Previous == "" {
					return fail(exitFailed, "ERR ROLLBACK reason=no-previous-model")
				}
				return activate(e, c, st.Previous, true)
			}},
		},
	}
}

func readState(reg string) (activeState, error) {
	var st activeState
	b, err := os.ReadFile(filepath.Join(reg, "active_state.toml"))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if len(b) > generated.ClientPoliciesCohPeftActivateMaxStateBytes {
		return st, fmt.Errorf("active_state.toml exceeds %d bytes", generated.ClientPoliciesCohPeftActivateMaxStateBytes)
	}
	return st, toml.Unmarshal(b, &st)
}

// activate writes the hive's pointer first (the authority), then the
// registry's active file and state, each by atomic rename: a crash between
// steps leaves the old or the new pointer, never a partial one.
func activate(e *env, c *cli.Context, model string, rollback bool) error {
	if !gpu.ValidID(model, generated.ClientPoliciesCohPeftActivateMaxModelIdBytes) {
		return fail(exitUsage, "coh: model id must be 1..%d bytes without /", generated.ClientPoliciesCohPeftActivateMaxModelIdBytes)
	}
	reg := c.String("registry")
	st, err := readState(reg)
	if err != nil {
		return fail(exitFailed, "coh: %v", err)
	}
	cl, err := dialHive(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	line := []byte(model + "\n")
	if _, err := cl.Append("/gpu/models/active", 0, line); err != nil {
		return fail(exitFailed, "ERR ECHO path=/gpu/models/active error=%v", err)
	}
	next := activeState{Current: model, Previous: st.Current}
	if rollback {
		next.Previous = st.Current
	}
	b, _ := toml.Marshal(next)
	if err := syncfile.Replace(filepath.Join(reg, "active"), line); err != nil {
		return fail(exitFailed, "coh: %v", err)
	}
	if err := syncfile.Replace(filepath.Join(reg, "active_state.toml"), b); err != nil {
		return fail(exitFailed, "coh: %v", err)
	}
	fmt.Fprintf(e.stdout, "OK ECHO path=/gpu/models/active bytes=%d\n", len(line))
	return nil
}

// importInput is one file peft import reads: its name, its size cap and
// the word a refusal names it by.
type importInput struct {
	name string
	max  int
	what string
}

var (
	// importFiles are read from --from, in this order.
	importFiles = []importInput{
		{"adapter.safetensors", generated.ClientPoliciesCohPeftImportMaxAdapterBytes, "adapter"},
		{"lora.json", generated.ClientPoliciesCohPeftImportMaxLoraBytes, "lora.json"},
		{"metrics.json", generated.ClientPoliciesCohPeftImportMaxMetricsBytes, "metrics.json"},
		{"provenance.toml", generated.ClientPoliciesCohPeftImportMaxManifestBytes, "provenance"},
	}
	// exportFiles are read from --export/<job>.
	exportFiles = []importInput{
		{"telemetry.cbor", generated.ClientPoliciesCohPeftExportMaxTelemetryBytes, "export"},
		{"base_model.ref", generated.ClientPoliciesCohPeftExportMaxBaseModelBytes, "export"},
	}
)

func peftImport(e *env, c *cli.Context) error {
	model, job := c.String("model"), c.String("job")
	lim := gpu.DefaultLimits()
	if !gpu.ValidID(model, lim.ModelIDMax) {
		return fail(exitUsage, "coh: invalid --model")
	}
	refuse := func(err error) error {
		return fail(exitFailed, "ERR IMPORT model=%s reason=%v", model, err)
	}
	in, err := readInputs(c.String("from"), importFiles)
	if err != nil {
		return refuse(err)
	}
	adapter, lora, metrics := in[0], in[1], in[2]
	approval, err := checkProvenance(in[3], adapter, job)
	if err != nil {
		return refuse(err)
	}
	exp, err := readInputs(filepath.Join(c.String("export"), job), exportFiles)
	if err != nil {
		return refuse(err)
	}
	m := gpumodel.ModelManifest{Schema: gpumodel.ModelManifestSchema, ModelID: model, ParentModelHash: gpu.SHA256Hex(exp[1]), TrainingJobID: job,
		TelemetryWindow: "export:" + job, Approval: approval, AdapterSHA256: gpu.SHA256Hex(adapter), AdapterBytes: int64(len(adapter)),
		LoraSHA256: gpu.SHA256Hex(lora), MetricsSHA256: gpu.SHA256Hex(metrics), ExportSHA256: gpu.SHA256Hex(exp[0])}
	body := m.Render()
	if _, err := gpumodel.ParseModelManifest(body, lim); err != nil {
		return refuse(fmt.Errorf("manifest %v", err))
	}
	dir := filepath.Join(c.String("registry"), "available", model)
	for name, b := range map[string][]byte{"adapter.safetensors": adapter, "lora.json": lora, "metrics.json": metrics, "manifest.toml": body} {
		if err := syncfile.Replace(filepath.Join(dir, name), b); err != nil {
			return fail(exitFailed, "coh: %v", err)
		}
	}
	fmt.Fprintf(e.stdout, "OK IMPORT model=%s adapter_sha256=%s bytes=%d\n", model, m.AdapterSHA256, m.AdapterBytes)
	return nil
}

// readInputs reads each file from dir, in order. The error is the refusal
// reason: the failing file's word, then why.
func readInputs(dir string, files []importInput) ([][]byte, error) {
	out := make([][]byte, len(files))
	for i, f := range files {
		b, err := readBounded(dir, f.name, f.max)
		if err != nil {
			return nil, fmt.Errorf("%s %v", f.what, err)
		}
		out[i] = b
	}
	return out, nil
}

// readBounded reads a regular file of 1..max bytes.
func readBounded(dir, name string, max int) ([]byte, error) {
	p := filepath.Join(dir, name)
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > int64(max) || st.Size() == 0 {
		return nil, fmt.Errorf("%s: size %d outside 1..%d", name, st.Size(), max)
	}
	return os.ReadFile(p)
}

// checkProvenance holds provenance.toml to the adapter and the job and
// returns its approval. The error is the refusal reason.
func checkProvenance(prov, adapter []byte, job string) (string, error) {
	var p struct {
		AdapterSHA256 string `toml:"adapter_sha256"`
		AdapterBytes  int64  `toml:"adapter_bytes"`
		TrainingJobID string `toml:"training_job_id"`
		Approval      string `toml:"approval"`
	}
	if err := toml.Unmarshal(prov, &p); err != nil {
		return "", fmt.Errorf("provenance %v", err)
	}
	switch {
	case strings.TrimPrefix(p.AdapterSHA256, "sha256:") != gpu.SHA256Hex(adapter):
		return "", errors.New("hash-mismatch")
	case p.AdapterBytes != int64(len(adapter)):
		return "", errors.New("size-mismatch")
	case p.TrainingJobID != job:
		return "", errors.New("provenance-job-mismatch")
	}
	return p.Approval, nil
}
