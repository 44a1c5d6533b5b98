// Package gatewayclient is the one REST client of hive-gateway every host
// tool shares (milestone 24e's GatewayClient): cohsh --transport rest,
// coh --rest-url, the tests and the UI. It sends the request-auth token
// and the delegated ticket on every request, and turns the gateway's 4xx
// and 5xx answers into *ProblemError, whose words say what to do next.
package gatewayclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// Client talks to one gateway. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	token  string // request-auth token, sent on every request
	ticket string // delegated ticket, sent when set
	hc     *http.Client
}

// Options configure a Client beyond its URL.
type Options struct {
	Token  string       // request-auth token (gatewayapi.TokenEnv)
	Ticket string       // delegated capability ticket (gatewayapi.TicketEnv)
	HTTP   *http.Client // nil: a client with Timeout
	// Timeout bounds one request when HTTP is nil; 0 means none (a
	// streaming tail must not be cut).
	Timeout time.Duration
}

// New returns a client of the gateway at rawURL (http://host:port).
func New(rawURL string, o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway url %q: want http://host:port or https://host:port", rawURL)
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: o.Timeout}
	}
	return &Client{base: u, token: o.Token, ticket: o.Ticket, hc: hc}, nil
}

// CloseIdleConnections closes the connections the client keeps open
// between requests.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// URL returns the gateway's base URL.
func (c *Client) URL() string { return c.base.String() }

// WithTicket returns a client that sends ticket as its delegated identity.
func (c *Client) WithTicket(ticket string) *Client {
	d := *c
	d.ticket = ticket
	return &d
}

// ProblemError is a 4xx or 5xx answer of the gateway.
type ProblemError struct {
	HTTPStatus int
	Problem    gatewayapi.Problem
	RetryAfter time.Duration // from Retry-After on 429 and 503
}

func (e *ProblemError) Error() string {
	msg := fmt.Sprintf("gateway: HTTP %d %s: %s", e.HTTPStatus, e.Problem.Code, e.Problem.Error)
	switch e.HTTPStatus {
	case http.StatusUnauthorized:
		msg += " (set --rest-auth-token or HIVE_GATEWAY_REQUEST_AUTH_TOKEN)"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if e.RetryAfter > 0 {
			msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
		}
	}
	return msg
}

// IsStatus reports whether err is a ProblemError with HTTP status code.
func IsStatus(err error, code int) bool {
	var p *ProblemError
	return errors.As(err, &p) && p.HTTPStatus == code
}

// Request sends one request to path (a gatewayapi route, with its path
// parameters filled in) and returns the response when its status is 2xx;
// otherwise it reads the Problem body and returns *ProblemError. The
// caller closes the body.
func (c *Client) Request(ctx context.Context, method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.ticket != "" {
		req.Header.Set(gatewayapi.HeaderTicket, c.ticket)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway %s unreachable: %w (is hive-gateway running? see docs/GATEWAY.md)", c.base.Host, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	pe := &ProblemError{HTTPStatus: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(b, &pe.Problem) != nil || pe.Problem.Code == "" {
		pe.Problem = gatewayapi.Problem{Code: strconv.Itoa(resp.StatusCode), Error: strings.TrimSpace(string(b))}
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		pe.RetryAfter = time.Duration(s) * time.Second
	}
	return nil, pe
}

// getJSON GETs path with query and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, v any) error {
	resp, err := c.Request(ctx, http.MethodGet, path, query, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp.Body, v)
}

// postJSON POSTs in as JSON to path and decodes the answer into out.
func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := c.Request(ctx, http.MethodPost, path, nil, strings.NewReader(string(b)), "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp.Body, out)
}

func decode(r io.Reader, v any) error {
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("gateway: malformed answer: %w", err)
	}
	return nil
}

// Bounds is GET /v1/meta/bounds.
func (c *Client) Bounds(ctx context.Context) (gatewayapi.Bounds, error) {
	var b gatewayapi.Bounds
	return b, c.getJSON(ctx, gatewayapi.PathBounds, nil, &b)
}

// Status is GET /v1/meta/status, decoded as a generic JSON object.
func (c *Client) Status(ctx context.Context) (map[string]any, error) {
	var m map[string]any
	return m, c.getJSON(ctx, gatewayapi.PathStatus, nil, &m)
}

// Ls lists path.
func (c *Client) Ls(ctx context.Context, path string) (gatewayapi.Response, error) {
	var r gatewayapi.Response
	return r, c.getJSON(ctx, gatewayapi.PathLs, url.Values{"path": {path}}, &r)
}

// Cat reads path; maxBytes 0 leaves the gateway's cap.
func (c *Client) Cat(ctx context.Context, path string, maxBytes int) (gatewayapi.Response, error) {
	q := url.Values{"path": {path}}
	if maxBytes > 0 {
		q.Set("max_bytes", strconv.Itoa(maxBytes))
	}
	var r gatewayapi.Response
	return r, c.getJSON(ctx, gatewayapi.PathCat, q, &r)
}

// Tail reads the tail of path: at most lines lines (0: the gateway's cap)
// and maxBytes bytes (0: the gateway's cap).
func (c *Client) Tail(ctx context.Context, path string, maxBytes, lines int) (gatewayapi.Response, error) {
	q := url.Values{"path": {path}}
	if maxBytes > 0 {
		q.Set("max_bytes", strconv.Itoa(maxBytes))
	}
	if lines > 0 {
		q.Set("lines", strconv.Itoa(lines))
	}
	var r gatewayapi.Response
	return r, c.getJSON(ctx, gatewayapi.PathTail, q, &r)
}

// Echo appends line to path.
func (c *Client) Echo(ctx context.Context, path, line string) (gatewayapi.Response, error) {
	var r gatewayapi.Response
	return r, c.postJSON(ctx, gatewayapi.PathEcho, gatewayapi.EchoRequest{Path: path, Line: line}, &r)
}

// Stat is GET /v1/fs/stat.
func (c *Client) Stat(ctx context.Context, path string) (gatewayapi.Stat, error) {
	var st gatewayapi.Stat
	return st, c.getJSON(ctx, gatewayapi.PathStat, url.Values{"path": {path}}, &st)
}

// Read returns at most maxBytes raw bytes of path from off (GET
// /v1/fs/read) and the file's size when it was read. A hive refusal comes
// back as *RefusalError.
func (c *Client) Read(ctx context.Context, path string, off int64, maxBytes int) ([]byte, int64, error) {
	q := url.Values{"path": {path}, "offset": {strconv.FormatInt(off, 10)}}
	if maxBytes > 0 {
		q.Set("max_bytes", strconv.Itoa(maxBytes))
	}
	resp, err := c.Request(ctx, http.MethodGet, gatewayapi.PathRead, q, nil, "")
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "application/json" {
		// The hive refused: the body is a Response with status ERR.
		var r gatewayapi.Response
		if err := decode(resp.Body, &r); err != nil {
			return nil, 0, err
		}
		return nil, 0, &RefusalError{Response: r}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	size, _ := strconv.ParseInt(resp.Header.Get(gatewayapi.HeaderSize), 10, 64)
	return b, size, nil
}

// RefusalError is a hive refusal (status ERR) where the caller wanted data.
type RefusalError struct{ Response gatewayapi.Response }

func (e *RefusalError) Error() string { return e.Response.Ack }

// Refused turns a Response with status ERR into a *RefusalError, so a
// caller that wants only success can write `if err := Refused(r, err)`.
func Refused(r gatewayapi.Response, err error) error {
	if err != nil {
		return err
	}
	if r.Status != gatewayapi.StatusOK {
		return &RefusalError{Response: r}
	}
	return nil
}
