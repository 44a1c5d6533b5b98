package console

import (
	"strconv"
	"strings"
)

// AuthPrefix starts the client's first TCP frame.
const AuthPrefix = "AUTH "

// AuthLine returns the hello a client sends: "AUTH <token>".
func AuthLine(token string) string { return AuthPrefix + token }

// CheckAuth checks a client's first frame against the configured token (§2)
// and returns "" on success or the refusal reason: [AuthExpectedToken] when
// the "AUTH " prefix or the token is missing, [AuthInvalidToken] for any
// other token. A wrong token of any length gets the same word and takes
// the same time, so a guesser learns nothing about the token's length
// (issue 12).
func CheckAuth(payload, token string) string {
	got, ok := strings.CutPrefix(payload, AuthPrefix)
	if !ok || got == "" {
		return AuthExpectedToken
	}
	if !sameToken(got, token) {
		return AuthInvalidToken
	}
	return ""
}

// sameToken compares got with want in time that depends on len(want)
// alone: every byte of want is visited whatever got's length.
func sameToken(got, want string) bool {
	diff := len(got) ^ len(want)
	for i := 0; i < len(want); i++ {
		var c byte
		if i < len(got) {
			c = got[i]
		}
		diff |= int(c ^ want[i])
	}
	return diff == 0
}

// AuthOK is the line sent after a successful hello.
var AuthOK = Success(LabelAuth)

// AuthRefusal returns "ERR AUTH reason=<reason>".
func AuthRefusal(reason string) Ack { return Ack{Label: LabelAuth, Detail: "reason=" + reason} }

// AuthBlocked returns "ERR AUTH reason=<word> delay_ms=<n>" for a peer the
// authority is holding back; word is [DetailThrottled] or
// [DetailRateLimited], as on ATTACH.
func AuthBlocked(word string, delayMs uint64) Ack {
	return Ack{Label: LabelAuth, Detail: "reason=" + word + " delay_ms=" + strconv.FormatUint(delayMs, 10)}
}

// FrameRefusal is the line queued for an invalid frame after authentication.
var FrameRefusal = Ack{Label: LabelFrame, Detail: "reason=" + AuthInvalidLength}
