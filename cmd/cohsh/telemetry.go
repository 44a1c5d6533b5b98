package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/ingest"
)

// telemetry runs `telemetry push <src_file> --device <id>` (spec
// gpu-telemetry.md §6): local checks first (extension, size, UTF-8,
// chunking), then a new segment through ctl and one echo per record. Over
// the console every record must also fit the echo payload, so chunks are
// as large as both max_record_bytes and the echo limit allow.
func (sh *shell) telemetry(ctx context.Context, args []string) result {
	if len(args) == 0 || args[0] != "push" {
		return localErr(usagef("usage: telemetry push <src_file> --device <id>"))
	}
	var src, dev string
	devSet := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--device" && i+1 < len(args):
			dev, devSet = args[i+1], true
			i++
		case strings.HasPrefix(a, "--device="):
			dev, devSet = strings.TrimPrefix(a, "--device="), true
		case strings.HasPrefix(a, "-"):
			return localErr(usagef("telemetry push: unknown flag %s", a))
		case src == "":
			src = a
		default:
			return localErr(usagef("telemetry push takes one source file"))
		}
	}
	if src == "" || !devSet {
		return localErr(usagef("usage: telemetry push <src_file> --device <id>"))
	}
	fail := func(reason string) result {
		return result{lines: []string{fmt.Sprintf("ERR TELEMETRY action=push device=%s reason=%s", dev, reason)}, source: sourceCohsh, failed: true,
			ack: fmt.Sprintf("ERR TELEMETRY action=push device=%s reason=%s", dev, reason)}
	}
	if err := ingest.ValidDevice(dev); err != nil {
		return fail(err.Error())
	}
	if !sh.attached || sh.role != "queen" {
		return fail("telemetry push needs an attached queen session")
	}
	mime, err := ingest.MimeFor(src)
	if err != nil {
		return fail(err.Error())
	}
	st, err := os.Stat(src)
	switch {
	case err != nil:
		return fail(fmt.Sprintf("%v: %v", ingest.ErrLocal, err))
	case !st.Mode().IsRegular():
		return fail(fmt.Sprintf("%v: %s is not a regular file", ingest.ErrLocal, src))
	case st.Size() > int64(generated.TelemetryIngestMaxBytesPerSegment):
		return fail(fmt.Sprintf("%v: source is %d bytes, over max_bytes_per_segment %d", ingest.ErrLocal, st.Size(), generated.TelemetryIngestMaxBytesPerSegment))
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return fail(fmt.Sprintf("%v: %v", ingest.ErrLocal, err))
	}
	lim := ingest.DefaultLimits()
	lim.MaxRecord = min(lim.MaxRecord, sh.lim.Echo)
	recs, err := ingest.Chunk(data, mime, lim)
	if err != nil {
		return fail(err.Error())
	}
	base := generated.ClientPoliciesCohTelemetryRoot + "/" + dev
	var out []string
	step := func(line string) (string, bool) {
		r := sh.wireResult(ctx, line)
		if r.err != nil || r.failed {
			out = append(out, r.lines...)
			return r.ack, false
		}
		return r.ack, true
	}
	ack, ok := step(string(console.Echo) + " " + base + "/ctl " + `{"new":"segment","mime":"` + mime + `"}`)
	if !ok {
		return result{lines: append(out, fmt.Sprintf("ERR TELEMETRY action=push device=%s reason=new-segment-refused", dev)), source: sourceServer, ack: ack, failed: true}
	}
	seg := ""
	if a, isAck := console.ParseAck(ack); isAck {
		seg, _ = a.Field("seg_id")
	}
	if seg == "" {
		r := sh.wireResult(ctx, string(console.Cat)+" "+base+"/latest")
		for _, l := range r.lines {
			if strings.HasPrefix(l, "seg-") {
				seg = l
			}
		}
		if seg == "" {
			return result{lines: append(out, r.lines...), source: sourceServer, ack: r.ack, failed: true, err: errors.New("telemetry push: no segment id in latest")}
		}
	}
	bytes := 0
	for _, rec := range recs {
		if ack, ok := step(string(console.Echo) + " " + base + "/seg/" + seg + " " + string(rec)); !ok {
			return result{lines: append(out, fmt.Sprintf("ERR TELEMETRY action=push device=%s reason=append-refused seg_id=%s", dev, seg)), source: sourceServer, ack: ack, failed: true}
		}
		bytes += len(rec) + 1
	}
	done := "OK TELEMETRY action=push device=" + dev + " seg_id=" + seg + " records=" + strconv.Itoa(len(recs)) + " bytes=" + strconv.Itoa(bytes)
	return result{lines: append(out, done), ack: done, source: sourceCohsh}
}
