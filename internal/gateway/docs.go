package gateway

import (
	"embed"
	"net/http"

	"github.com/cohesix/cohesix/internal/gatewayapi"
)

//go:embed assets/docs.html assets/docs.js
var docsAssets embed.FS

// docsCSP allows the browser page nothing but its own script and a fetch
// of the document: no inline script, no CDN, no frames.
const docsCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *Server) docsRoutes(mux *http.ServeMux) {
	serve := func(name, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			b, _ := docsAssets.ReadFile(name)
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Security-Policy", docsCSP)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Referrer-Policy", "no-referrer")
			_, _ = w.Write(b)
		}
	}
	mux.HandleFunc("GET "+gatewayapi.PathDocs, s.logged(gatewayapi.PathDocs, serve("assets/docs.html", "text/html; charset=utf-8")))
	mux.HandleFunc("GET "+gatewayapi.PathDocs+"/docs.js", s.logged(gatewayapi.PathDocs, serve("assets/docs.js", "text/javascript; charset=utf-8")))
}
