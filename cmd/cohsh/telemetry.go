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
	src, dev, err := parsePushArgs(args)
	if err != nil {
		return localErr(err)
	}
	if err := ingest.ValidDevice(dev); err != nil {
		return pushRefused(dev, err.Error())
	}
	if !sh.attached || sh.role != "queen" {
		return pushRefused(dev, "telemetry push needs an attached queen session")
	}
	mime, recs, err := sh.chunkSource(src)
	if err != nil {
		return pushRefused(dev, err.Error())
	}
	return sh.pushRecords(ctx, dev, mime, recs)
}

const pushUsage = "usage: telemetry push <src_file> --device <id>"

// parsePushArgs reads "push <src_file> --device <id>" (or --device=<id>).
func parsePushArgs(args []string) (src, dev string, err error) {
	if len(args) == 0 || args[0] != "push" {
		return "", "", usagef(pushUsage)
	}
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
			return "", "", usagef("telemetry push: unknown flag %s", a)
		case src == "":
			src = a
		default:
			return "", "", usagef("telemetry push takes one source file")
		}
	}
	if src == "" || !devSet {
		return "", "", usagef(pushUsage)
	}
	return src, dev, nil
}

// pushRefused is cohsh's own refusal of a push, before or without the hive.
func pushRefused(dev, reason string) result {
	line := fmt.Sprintf("ERR TELEMETRY action=push device=%s reason=%s", dev, reason)
	return result{lines: []string{line}, source: sourceCohsh, failed: true, ack: line}
}

// chunkSource checks the source file locally and cuts it into records that
// fit both max_record_bytes and the console's echo payload.
func (sh *shell) chunkSource(src string) (mime string, recs [][]byte, err error) {
	if mime, err = ingest.MimeFor(src); err != nil {
		return "", nil, err
	}
	st, err := os.Stat(src)
	switch {
	case err != nil:
		return "", nil, fmt.Errorf("%v: %v", ingest.ErrLocal, err)
	case !st.Mode().IsRegular():
		return "", nil, fmt.Errorf("%v: %s is not a regular file", ingest.ErrLocal, src)
	case st.Size() > int64(generated.TelemetryIngestMaxBytesPerSegment):
		return "", nil, fmt.Errorf("%v: source is %d bytes, over max_bytes_per_segment %d", ingest.ErrLocal, st.Size(), generated.TelemetryIngestMaxBytesPerSegment)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", nil, fmt.Errorf("%v: %v", ingest.ErrLocal, err)
	}
	lim := ingest.DefaultLimits()
	lim.MaxRecord = min(lim.MaxRecord, sh.lim.Echo)
	recs, err = ingest.Chunk(data, mime, lim)
	return mime, recs, err
}

// pushRecords opens a new segment of dev and echoes every record into it.
// A refused step ends the push with the hive's lines and cohsh's ERR line.
func (sh *shell) pushRecords(ctx context.Context, dev, mime string, recs [][]byte) result {
	base := generated.ClientPoliciesCohTelemetryRoot + "/" + dev
	r := sh.wireResult(ctx, string(console.Echo)+" "+base+"/ctl "+`{"new":"segment","mime":"`+mime+`"}`)
	if r.failed {
		return stepRefused(r, fmt.Sprintf("ERR TELEMETRY action=push device=%s reason=new-segment-refused", dev))
	}
	seg, fr := sh.segmentID(ctx, base, r.ack)
	if seg == "" {
		return fr
	}
	bytes := 0
	for _, rec := range recs {
		if r := sh.wireResult(ctx, string(console.Echo)+" "+base+"/seg/"+seg+" "+string(rec)); r.failed {
			return stepRefused(r, fmt.Sprintf("ERR TELEMETRY action=push device=%s reason=append-refused seg_id=%s", dev, seg))
		}
		bytes += len(rec) + 1
	}
	done := "OK TELEMETRY action=push device=" + dev + " seg_id=" + seg + " records=" + strconv.Itoa(len(recs)) + " bytes=" + strconv.Itoa(bytes)
	return result{lines: []string{done}, ack: done, source: sourceCohsh}
}

// stepRefused ends a push at a refused step: its lines, then why.
func stepRefused(r result, why string) result {
	return result{lines: append(r.lines, why), source: sourceServer, ack: r.ack, failed: true}
}

// segmentID is the new segment's id: seg_id= of the ctl ACK, else the
// last seg- line of latest. With none it returns "" and the failure.
func (sh *shell) segmentID(ctx context.Context, base, ack string) (string, result) {
	if a, isAck := console.ParseAck(ack); isAck {
		if seg, _ := a.Field("seg_id"); seg != "" {
			return seg, result{}
		}
	}
	r := sh.wireResult(ctx, string(console.Cat)+" "+base+"/latest")
	seg := ""
	for _, l := range r.lines {
		if strings.HasPrefix(l, "seg-") {
			seg = l
		}
	}
	if seg == "" {
		return "", result{lines: r.lines, source: sourceServer, ack: r.ack, failed: true, err: errors.New("telemetry push: no segment id in latest")}
	}
	return seg, result{}
}
