// Package gatewayapi is the wire of hive-gateway's REST API (milestones
// 24c, 24e, 25b, 25d, 28b): its routes, headers, JSON bodies and the
// precedence of the flags and environment variables every REST client
// resolves the same way. The gateway and every client (cohsh, coh, tests,
// the UI) import it, so the two ends cannot drift; the OpenAPI document
// served at /v1/openapi.yaml is the contract they are tested against.
package gatewayapi

// Routes.
const (
	PathHealthz   = "/healthz"
	PathReadyz    = "/readyz"
	PathMetrics   = "/metrics"
	PathOpenAPI   = "/v1/openapi.yaml"
	PathDocs      = "/docs"
	PathBounds    = "/v1/meta/bounds"
	PathStatus    = "/v1/meta/status"
	PathLs        = "/v1/fs/ls"
	PathCat       = "/v1/fs/cat"
	PathTail      = "/v1/fs/tail"
	PathEcho      = "/v1/fs/echo"
	PathRead      = "/v1/fs/read"   // raw bytes of a file from offset (octet-stream), for tools that need bytes, not lines
	PathStat      = "/v1/fs/stat"   // a Stat
	PathTelemetry = "/v1/telemetry" // GET: devices and segments; POST and GET /v1/telemetry/{device}; GET /v1/telemetry/{device}/{seg}
)

// Headers.
const (
	// HeaderAuth carries the request-auth token when Authorization:
	// Bearer is not used.
	HeaderAuth = "X-Cohesix-Auth"
	// HeaderTicket carries the caller's capability ticket (delegated
	// identity, 28b): the hive applies that ticket's role, scopes and
	// quotas to the request.
	HeaderTicket = "X-Cohesix-Ticket"
	// HeaderSize is the size of a telemetry segment when it was read.
	HeaderSize = "X-Cohesix-Size"
	// HeaderOffset is the offset the body of a segment read starts at.
	HeaderOffset = "X-Cohesix-Offset"
	// HeaderSpans says which segment each part of a device read's body
	// is (GET /v1/telemetry/{device}): EncodeSpans.
	HeaderSpans = "X-Cohesix-Spans"
)

// Response is the seed's response object (24c) for ls, cat, tail and
// echo: an OK or ERR of the hive, with HTTP 200 either way. Ack is the
// console's ACK line for the same request, so a client can print the
// transcript cohsh prints over TCP.
type Response struct {
	Status string   `json:"status"` // "OK" or "ERR"
	Verb   string   `json:"verb"`   // LS, CAT, TAIL, ECHO
	Path   string   `json:"path"`
	End    bool     `json:"end"`   // the listing or stream is complete
	Lines  []string `json:"lines"` // payload lines, never nil
	Bytes  int      `json:"bytes"` // payload bytes read or written
	Error  string   `json:"error,omitempty"`
	Ack    string   `json:"ack"`
}

// Response statuses.
const (
	StatusOK  = "OK"
	StatusERR = "ERR"
)

// EchoRequest is the body of POST /v1/fs/echo: one line appended to path.
type EchoRequest struct {
	Path string `json:"path"`
	Line string `json:"line"`
}

// Problem is the JSON body of every 4xx and 5xx answer: what was wrong,
// in a stable code and in words.
type Problem struct {
	Code  string `json:"code"` // bad-request, unauthorized, forbidden, not-found, too-large, overloaded, unavailable, deadline
	Error string `json:"error"`
}

// Problem codes.
const (
	CodeBadRequest   = "bad-request"
	CodeUnauthorized = "unauthorized"
	CodeTooLarge     = "too-large"
	CodeOverloaded   = "overloaded"  // 429
	CodeUnavailable  = "unavailable" // 503
	CodeDeadline     = "deadline"    // 504
	CodeNotFound     = "not-found"
	CodeMethod       = "method-not-allowed"
)

// Bounds is GET /v1/meta/bounds: the limits a client must respect, from
// the compiled manifest.
type Bounds struct {
	MaxReadBytes      int    `json:"max_read_bytes"`      // cap of max_bytes on cat and tail
	TailMaxLines      int    `json:"tail_max_lines"`      // cap of lines on tail
	MaxBodyBytes      int    `json:"max_body_bytes"`      // a JSON request body
	LineMaxBytes      int    `json:"line_max_bytes"`      // a console line
	PathMaxBytes      int    `json:"path_max_bytes"`      // a path
	EchoMaxBytes      int    `json:"echo_max_bytes"`      // an echo payload
	TelemetryRoot     string `json:"telemetry_root"`      // where telemetry devices live
	SegmentMaxBytes   int    `json:"segment_max_bytes"`   // one telemetry segment
	RecordMaxBytes    int    `json:"record_max_bytes"`    // one telemetry record
	SegmentsPerDevice int    `json:"segments_per_device"` // segments a device keeps
	ManifestSHA256    string `json:"manifest_sha256"`     // of the compiled manifest
}

// Segment is one telemetry segment in GET /v1/telemetry.
type Segment struct {
	Device string `json:"device"`
	Seg    string `json:"seg_id"`
	Size   int64  `json:"size"`
}

// Segments is GET /v1/telemetry.
type Segments struct {
	Segments []Segment `json:"segments"`
}

// PushResult is the answer to POST /v1/telemetry/{device}: the body was
// cut at record boundaries into segments of at most segment_max_bytes.
type PushResult struct {
	Device   string   `json:"device"`
	Segments []string `json:"segments"` // seg ids, in the order written
	Records  int      `json:"records"`
	Bytes    int64    `json:"bytes"` // stored, newlines included
}

// Stat is GET /v1/fs/stat: what a path is.
type Stat struct {
	Path string `json:"path"`
	Kind string `json:"kind"` // "file" or "dir"
	Size int64  `json:"size"`
	// AppendOnly is true for a file the caller may append to (ctl files,
	// logs); a FUSE mount shows it writable.
	AppendOnly bool `json:"append_only"`
}

// Stat kinds.
const (
	KindFile = "file"
	KindDir  = "dir"
)
