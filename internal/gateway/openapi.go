package gateway

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/cohesix/cohesix/generated"
)

//go:embed openapi.yaml
var openapiTemplate string

// OpenAPIDocument returns the served OpenAPI 3.1 document: the embedded
// template with the manifest's limits filled in, so the contract and the
// compiled limits cannot drift.
func OpenAPIDocument() []byte {
	return []byte(strings.NewReplacer(
		"${PATH_MAX}", strconv.Itoa(generated.ConsolePathMax),
		"${MAX_READ_BYTES}", strconv.Itoa(generated.GatewayMaxReadBytes),
		"${TAIL_MAX_LINES}", strconv.Itoa(generated.GatewayTailMaxLines),
		"${ECHO_MAX}", strconv.Itoa(generated.ConsoleEchoMax),
		"${NAME_MAX}", strconv.Itoa(generated.Secure9pWalkComponentMaxBytes),
	).Replace(openapiTemplate))
}

// The contract's text bodies are validated as strings: an SSE stream, a
// telemetry body, the /docs page and this document itself (kin-openapi
// would parse YAML into an object, or knows no decoder for the others).
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.PlainBodyDecoder)
}

// Contract is the loaded OpenAPI document and its router; it validates
// requests (the gateway) and responses (the tests).
type Contract struct {
	Doc    *openapi3.T
	router routers.Router
	// legacy is Doc marked 3.0 for request validation: kin-openapi's 3.1
	// engine compiles a JSON Schema 2020-12 validator on every parameter
	// of every request (a quarter of the gateway's CPU on a telemetry
	// pull), while its 3.0 engine gives the same verdicts for schemas
	// that use no 2020-12 keyword, which LoadContract checks.
	legacy *openapi3.T
}

// LoadContract loads and validates the served document.
func LoadContract() (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPIDocument())
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("openapi: document is %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: invalid: %w", err)
	}
	// The router matches on paths only; the servers entry names the
	// default bind, not wherever the gateway really listens.
	doc.Servers = nil
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: router: %w", err)
	}
	if k := schema2020Keyword(doc); k != "" {
		return nil, fmt.Errorf("openapi: a schema uses the 2020-12 keyword %q, which request validation's 3.0 engine does not judge", k)
	}
	legacy := *doc
	legacy.OpenAPI = "3.0.3"
	return &Contract{Doc: doc, router: r, legacy: &legacy}, nil
}

// keywords2020 are the JSON Schema keywords a 3.1 document may use that a
// 3.0 schema engine does not know.
var keywords2020 = []string{"const", "prefixItems", "if", "then", "else", "dependentSchemas", "dependentRequired",
	"unevaluatedItems", "unevaluatedProperties", "contains", "minContains", "maxContains", "propertyNames",
	"patternProperties", "$defs", "$dynamicRef", "contentSchema"}

// schema2020Keyword returns a 2020-12 keyword (or "type array") used by a
// schema of doc, or "" when there is none.
func schema2020Keyword(doc *openapi3.T) string {
	b, err := json.Marshal(doc)
	if err != nil {
		return "unmarshalable document"
	}
	var tree any
	_ = json.Unmarshal(b, &tree)
	var found string
	var walk func(v any, inSchema bool)
	walk = func(v any, inSchema bool) {
		switch t := v.(type) {
		case map[string]any:
			for k, child := range t {
				if inSchema && slices.Contains(keywords2020, k) {
					found = k
				}
				if _, isArr := child.([]any); k == "type" && isArr && inSchema {
					found = "type array"
				}
				walk(child, inSchema || k == "schema" || k == "schemas")
			}
		case []any:
			for _, child := range t {
				walk(child, inSchema)
			}
		}
	}
	walk(tree, false)
	return found
}

// find returns the route of req, or an error when the document has none.
func (c *Contract) find(req *http.Request) (*routers.Route, map[string]string, error) {
	return c.router.FindRoute(req)
}

// ValidateRequest checks req against the document. body is the request
// body already read (nil: the body is not validated, e.g. a streamed
// telemetry push). Authentication is the gateway's own (auth.go).
func (c *Contract) ValidateRequest(ctx context.Context, req *http.Request, body []byte) error {
	route, params, err := c.find(req)
	if err != nil {
		return err
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: false}
	if body == nil {
		opts.ExcludeRequestBody = true
		// kin-openapi reads the whole body for the security check
		// (io.ReadAll in ValidateSecurityRequirements): a streamed body
		// must never reach it.
		shallow := *req
		shallow.Body = http.NoBody
		req = &shallow
	} else {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	fast := *route
	fast.Spec = c.legacy
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: &fast, Options: opts}
	err = openapi3filter.ValidateRequest(ctx, in)
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return err
}

// ValidateResponse checks one response (status, headers, body) to req
// against the document; the tests call it on every answer they get.
func (c *Contract) ValidateResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.find(req)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(ctx, in)
}
