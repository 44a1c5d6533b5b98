package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cohesix/cohesix/generated"
)

// The served document is OpenAPI 3.1, valid to kin-openapi, with every
// manifest limit filled in and every route of the gateway in it.
func TestContractIsOpenAPI31(t *testing.T) {
	doc := string(OpenAPIDocument())
	if !strings.HasPrefix(doc, "openapi: 3.1.0\n") || strings.Contains(doc, "${") {
		t.Fatalf("document head %.40q, unfilled placeholder: %t", doc, strings.Contains(doc, "${"))
	}
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/fs/ls", "/v1/fs/cat", "/v1/fs/tail", "/v1/fs/echo", "/v1/fs/read", "/v1/fs/stat",
		"/v1/meta/bounds", "/v1/meta/status", "/v1/telemetry", "/v1/telemetry/{device}", "/v1/telemetry/{device}/{seg}",
		"/healthz", "/readyz", "/metrics", "/v1/openapi.yaml", "/docs"} {
		if c.Doc.Paths.Find(p) == nil {
			t.Errorf("route %s is not in the document", p)
		}
	}
}

// Request validation runs kin-openapi's 3.0 engine over the 3.1 document
// (fast), which is sound only while no schema uses a 2020-12 keyword: the
// guard must see one, and the engine must still refuse what the document
// forbids.
func TestRequestValidationEngine(t *testing.T) {
	c, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	if k := schema2020Keyword(c.Doc); k != "" {
		t.Fatalf("served document uses %q", k)
	}
	bad := strings.Replace(string(OpenAPIDocument()), "schema: {type: string, minLength: 1,", "schema: {type: [string, \"null\"], minLength: 1,", 1)
	doc, err := openapi3.NewLoader().LoadFromData([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if k := schema2020Keyword(doc); k != "type array" {
		t.Fatalf("guard missed a type array: %q", k)
	}
	for _, tc := range []struct {
		query string
		ok    bool
	}{
		{"path=/proc/boot&max_bytes=16", true},
		{"path=/proc/boot&max_bytes=" + strconv.Itoa(generated.GatewayMaxReadBytes+1), false},
		{"path=/proc/boot&max_bytes=-1", false},
		{"max_bytes=16", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/v1/fs/cat?"+tc.query, nil)
		if err := c.ValidateRequest(context.Background(), req, nil); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%t", tc.query, err, tc.ok)
		}
	}
}
