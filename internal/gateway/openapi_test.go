package gateway

import (
	"strings"
	"testing"
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
