package gatewayclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// TelemetryPush streams body to POST /v1/telemetry/{device} as mime
// (text/plain, application/x-ndjson, application/json or text/csv): the
// gateway cuts it at line boundaries into segments and answers what it
// wrote. body is sent as it is read, never held whole.
func (c *Client) TelemetryPush(ctx context.Context, device, mime string, body io.Reader) (gatewayapi.PushResult, error) {
	var res gatewayapi.PushResult
	path, err := telemetryPath(device)
	if err != nil {
		return res, err
	}
	resp, err := c.Request(ctx, http.MethodPost, path, nil, body, mime)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	return res, decode(resp.Body, &res)
}

// TelemetrySegments is GET /v1/telemetry: every device's segments with
// their sizes.
func (c *Client) TelemetrySegments(ctx context.Context) (gatewayapi.Segments, error) {
	var s gatewayapi.Segments
	return s, c.getJSON(ctx, gatewayapi.PathTelemetry, nil, &s)
}

// TelemetryRead copies segment seg of device from off into w (GET
// /v1/telemetry/{device}/{seg}?offset=N) and returns the segment's size
// when the gateway read it and the bytes copied. (device, seg, off) is a
// resumable cursor: the next read starts at off+n. A segment the hive no
// longer holds is a *ProblemError with HTTP 404, or a *RefusalError when
// the gateway answers the hive's refusal as a Response.
func (c *Client) TelemetryRead(ctx context.Context, device, seg string, off int64, w io.Writer) (size, n int64, err error) {
	path, err := telemetryPath(device, seg)
	if err != nil {
		return 0, 0, err
	}
	q := url.Values{"offset": {strconv.FormatInt(off, 10)}}
	resp, err := c.Request(ctx, http.MethodGet, path, q, nil, "")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "application/json" {
		var r gatewayapi.Response
		if err := decode(resp.Body, &r); err != nil {
			return 0, 0, err
		}
		return 0, 0, &RefusalError{Response: r}
	}
	size, err = strconv.ParseInt(resp.Header.Get(gatewayapi.HeaderSize), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("gateway: malformed answer: %s %q", gatewayapi.HeaderSize, resp.Header.Get(gatewayapi.HeaderSize))
	}
	if got := resp.Header.Get(gatewayapi.HeaderOffset); got != strconv.FormatInt(off, 10) {
		return 0, 0, fmt.Errorf("gateway: malformed answer: %s %q for offset %d", gatewayapi.HeaderOffset, got, off)
	}
	n, err = io.Copy(w, resp.Body)
	return size, n, err
}

// TelemetryReadDevice reads device's segments from segment from at off
// (from "": from the first, off 0), each later segment whole, in one
// request (GET /v1/telemetry/{device}), and returns the spans and their
// bytes one after the other; max bounds the body (the gateway sends at
// most max_total_bytes_per_device). Errors are TelemetryRead's.
func (c *Client) TelemetryReadDevice(ctx context.Context, device, from string, off int64, max int64) ([]gatewayapi.Span, []byte, error) {
	path, err := telemetryPath(device)
	if err != nil {
		return nil, nil, err
	}
	q := url.Values{}
	if from != "" {
		q.Set("from", from)
		q.Set("offset", strconv.FormatInt(off, 10))
	}
	resp, err := c.Request(ctx, http.MethodGet, path, q, nil, "")
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "application/json" {
		var r gatewayapi.Response
		if err := decode(resp.Body, &r); err != nil {
			return nil, nil, err
		}
		return nil, nil, &RefusalError{Response: r}
	}
	if resp.ContentLength < 0 || resp.ContentLength > max {
		return nil, nil, fmt.Errorf("gateway: malformed answer: a device read of %d bytes (at most %d, with a Content-Length)", resp.ContentLength, max)
	}
	body := make([]byte, resp.ContentLength)
	if _, err := io.ReadFull(resp.Body, body); err != nil {
		return nil, nil, err
	}
	spans, err := gatewayapi.DecodeSpans(resp.Header.Get(gatewayapi.HeaderSpans), int64(len(body)))
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: malformed answer: %s: %v", gatewayapi.HeaderSpans, err)
	}
	return spans, body, nil
}

// telemetryPath is /v1/telemetry/{names...}; a name that is not one path
// segment is refused here, where the route could not say what was meant.
func telemetryPath(names ...string) (string, error) {
	p := gatewayapi.PathTelemetry
	for _, n := range names {
		if n == "" || n == "." || n == ".." || strings.Contains(n, "/") {
			return "", fmt.Errorf("gateway: telemetry name %q must be one path segment", n)
		}
		p += "/" + n
	}
	return p, nil
}
