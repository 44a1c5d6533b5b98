package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// readBody reads at most GatewayMaxBodyBytes; one byte more is
// too-large, never a truncated body.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, generated.GatewayMaxBodyBytes+1))
	if err != nil {
		return nil, bad(gatewayapi.CodeBadRequest, "reading the body: %v", err)
	}
	if len(b) > generated.GatewayMaxBodyBytes {
		return nil, bad(gatewayapi.CodeTooLarge, "the body is over %d bytes", generated.GatewayMaxBodyBytes)
	}
	return b, nil
}

// parseEcho decodes an echo body strictly: one JSON object with exactly
// path and line, nothing after it, a checked path and a line the console
// could carry (no newline or control byte, at most console.echo_max).
func parseEcho(b []byte) (gatewayapi.EchoRequest, error) {
	var req gatewayapi.EchoRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, bad(gatewayapi.CodeBadRequest, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return req, bad(gatewayapi.CodeBadRequest, "malformed JSON body: data after the object")
	}
	if err := checkPath(req.Path); err != nil {
		return req, err
	}
	if req.Line == "" {
		// The console refuses an echo without a payload too.
		return req, bad(gatewayapi.CodeBadRequest, "line is empty")
	}
	if len(req.Line) > generated.ConsoleEchoMax {
		return req, bad(gatewayapi.CodeTooLarge, "line is %d bytes, the most is %d", len(req.Line), generated.ConsoleEchoMax)
	}
	if !utf8.ValidString(req.Line) {
		return req, bad(gatewayapi.CodeBadRequest, "line is not UTF-8")
	}
	for i := 0; i < len(req.Line); i++ {
		if c := req.Line[i]; c < 0x20 || c == 0x7f {
			return req, bad(gatewayapi.CodeBadRequest, "line has a control byte at %d", i)
		}
	}
	return req, nil
}
