package console

import (
	"crypto/subtle"
	"strings"
)

// AuthPrefix starts the client's first TCP frame.
const AuthPrefix = "AUTH "

// AuthLine returns the hello a client sends: "AUTH <token>".
func AuthLine(token string) string { return AuthPrefix + token }

// CheckAuth checks a client's first frame against the configured token (§2)
// and returns "" on success or the refusal reason: [AuthInvalidLength] when
// the payload is not exactly 5+len(token) bytes, [AuthExpectedToken] when the
// "AUTH " prefix or the token is missing, [AuthInvalidToken] on mismatch.
// The token comparison takes constant time.
func CheckAuth(payload, token string) string {
	if len(payload) != len(AuthPrefix)+len(token) {
		return AuthInvalidLength
	}
	got, ok := strings.CutPrefix(payload, AuthPrefix)
	if !ok || got == "" {
		return AuthExpectedToken
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return AuthInvalidToken
	}
	return ""
}

// AuthOK is the line sent after a successful hello.
var AuthOK = Success(LabelAuth)

// AuthRefusal returns "ERR AUTH reason=<reason>".
func AuthRefusal(reason string) Ack { return Ack{Label: LabelAuth, Detail: "reason=" + reason} }

// FrameRefusal is the line queued for an invalid frame after authentication.
var FrameRefusal = Ack{Label: LabelFrame, Detail: "reason=" + AuthInvalidLength}
