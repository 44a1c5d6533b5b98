package gatewayclient

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/console"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// HiveFS is the hive's file calls over the gateway, shaped like
// nineclient.Client's (List, Read, ReadFrom, Append), so a host tool's
// verbs run unchanged over Secure9P or REST. A hive refusal comes back as
// the errno Secure9P would have carried (linux.Errno), so the tool prints
// the same words over both.
type HiveFS struct {
	c       *Client
	timeout time.Duration // per call; 0 none
}

// NewHiveFS wraps c; each call is bounded by timeout (0: none).
func NewHiveFS(c *Client, timeout time.Duration) *HiveFS { return &HiveFS{c: c, timeout: timeout} }

func (h *HiveFS) ctx() (context.Context, context.CancelFunc) {
	if h.timeout > 0 {
		return context.WithTimeout(context.Background(), h.timeout)
	}
	return context.WithCancel(context.Background())
}

// Close releases nothing: the gateway holds the hive session.
func (h *HiveFS) Close() error { return nil }

// List returns the entry names of path.
func (h *HiveFS) List(path string) ([]string, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	r, err := h.c.Ls(ctx, path)
	if err := refusalErrno(r, err); err != nil {
		return nil, err
	}
	return r.Lines, nil
}

// Read reads a whole file, at most max bytes (0: unbounded).
func (h *HiveFS) Read(path string, max int) ([]byte, error) { return h.ReadFrom(path, 0, max) }

// ReadFrom reads path from off to its end, at most max bytes (0:
// unbounded), in requests of at most gateway.max_read_bytes; more than
// max is an error, as nineclient.ReadFrom makes it.
func (h *HiveFS) ReadFrom(path string, off int64, max int) ([]byte, error) {
	var out []byte
	for {
		ctx, cancel := h.ctx()
		b, _, err := h.c.Read(ctx, path, off+int64(len(out)), generated.GatewayMaxReadBytes)
		cancel()
		if re, ok := err.(*RefusalError); ok {
			return nil, Errno(re.Response)
		}
		if err != nil {
			return out, err
		}
		out = append(out, b...)
		if max > 0 && len(out) > max {
			return nil, fmt.Errorf("%s exceeds %d bytes", path, max)
		}
		if len(b) < generated.GatewayMaxReadBytes {
			return out, nil
		}
	}
}

// Append appends each record to path as one echo line (its trailing
// newline dropped: echo appends one line). off is ignored: the gateway
// always appends at the end, as the append-only files want.
func (h *HiveFS) Append(path string, _ int64, records ...[]byte) (int, error) {
	total := 0
	for _, rec := range records {
		ctx, cancel := h.ctx()
		r, err := h.c.Echo(ctx, path, strings.TrimSuffix(string(rec), "\n"))
		cancel()
		if err := refusalErrno(r, err); err != nil {
			return total, err
		}
		total += len(rec)
	}
	return total, nil
}

// refusalErrno is err, or the errno of r when the hive refused.
func refusalErrno(r gatewayapi.Response, err error) error {
	if err != nil {
		return err
	}
	if r.Status != gatewayapi.StatusOK {
		return Errno(r)
	}
	return nil
}

// ackErrnos maps the console's error= words back to the errno Secure9P
// carries for the same refusal (consoleserver nsError and secure9p Errno,
// DECISIONS D2, read backwards).
var ackErrnos = map[string]linux.Errno{
	console.ErrorTextEPERM:          linux.EPERM,
	console.ErrorTextInvalidPath:    linux.ENOENT,
	console.ErrorTextInvalidPayload: linux.EINVAL,
	console.ErrorTextBufferFull:     linux.EDQUOT,
	console.ErrorTextELIMIT:         linux.EDQUOT,
	"EBUSY":                         linux.EBUSY,
	"EHOSTUNREACH":                  linux.EHOSTUNREACH,
	"closed":                        linux.EBADF,
}

// detailErrnos covers refusals whose ack has no error= field.
var detailErrnos = map[string]linux.Errno{
	console.DetailInvalidPath:     linux.ENOENT,
	console.DetailDenied:          linux.EPERM,
	console.DetailUnauthenticated: linux.EPERM,
	console.DetailRootUnreachable: linux.EHOSTUNREACH,
	console.DetailRevoked:         linux.EBADF,
	console.DetailBufferFull:      linux.EDQUOT,
	console.DetailInvalidPayload:  linux.EINVAL,
	"busy":                        linux.EBUSY,
}

// Errno is the Secure9P errno of a refused Response: from its ack's
// error= words, else its detail=, else EIO (as Secure9P's own default).
func Errno(r gatewayapi.Response) linux.Errno {
	a, _ := console.ParseAck(r.Ack)
	// error= is last and its words may hold spaces ("invalid path").
	if _, text, ok := strings.Cut(a.Detail, " error="); ok {
		if e, ok := ackErrnos[text]; ok {
			return e
		}
	}
	if d, ok := a.Field("detail"); ok {
		if e, ok := detailErrnos[d]; ok {
			return e
		}
	}
	return linux.EIO
}

// Stat is GET /v1/fs/stat; a hive refusal comes back as its errno.
func (h *HiveFS) Stat(path string) (gatewayapi.Stat, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	// One body holds either a Stat or, on a refusal, a Response.
	var body struct {
		gatewayapi.Stat
		Status string `json:"status"`
		Ack    string `json:"ack"`
	}
	if err := h.c.getJSON(ctx, gatewayapi.PathStat, url.Values{"path": {path}}, &body); err != nil {
		return gatewayapi.Stat{}, err
	}
	if body.Status != "" && body.Status != gatewayapi.StatusOK {
		return gatewayapi.Stat{}, Errno(gatewayapi.Response{Status: body.Status, Ack: body.Ack})
	}
	return body.Stat, nil
}

// ReadAt returns at most n bytes of path from off (one request, n capped
// at gateway.max_read_bytes); fewer at the end of the file.
func (h *HiveFS) ReadAt(path string, off int64, n int) ([]byte, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	b, _, err := h.c.Read(ctx, path, off, min(n, generated.GatewayMaxReadBytes))
	if re, ok := err.(*RefusalError); ok {
		return nil, Errno(re.Response)
	}
	return b, err
}
