package ticket

import "errors"

// Sentinel errors. Functions in this package wrap them with detail, so
// compare with errors.Is, not ==.
var (
	// ErrUnsupportedVersion: the payload's claims version is not 1.
	ErrUnsupportedVersion = errors.New("ticket: unsupported claims version")
	// ErrUnsupportedRole: the role byte is above 4.
	ErrUnsupportedRole = errors.New("ticket: unsupported role")
	// ErrInvalidScopeVerb: a scope verb byte is not 0, 1 or 2.
	ErrInvalidScopeVerb = errors.New("ticket: invalid scope verb")
	// ErrTruncated: the payload ends before a field is complete.
	ErrTruncated = errors.New("ticket: truncated payload")
	// ErrTrailingData: bytes remain after the last field.
	ErrTrailingData = errors.New("ticket: trailing data")
	// ErrMalformedToken: the token text has no '.' separator or is not hex.
	ErrMalformedToken = errors.New("ticket: malformed token")
	// ErrMissingPrefix: the token text does not start with "cohesix-ticket-".
	ErrMissingPrefix = errors.New("ticket: missing cohesix-ticket- prefix")
	// ErrInvalidMacLength: the MAC is not 32 bytes.
	ErrInvalidMacLength = errors.New("ticket: invalid mac length")
	// ErrMacMismatch: the MAC does not match the payload under the secret.
	ErrMacMismatch = errors.New("ticket: mac mismatch")
	// ErrMountTooLarge: a string field (subject, mount, scope path) is
	// longer than 255 bytes. The spec names it MountTooLarge for all strings.
	ErrMountTooLarge = errors.New("ticket: string too large")
	// ErrTooManyScopes: more than 16 scopes, the codec's cap.
	ErrTooManyScopes = errors.New("ticket: too many scopes")
	// ErrUnknownRole: a role label is not in the role table.
	ErrUnknownRole = errors.New("ticket: unknown role")
	// ErrInvalidClaims: the claims break a rule outside the byte layout:
	// a manifest limit, a non-canonical flag, invalid UTF-8, a ".." scope
	// path component.
	ErrInvalidClaims = errors.New("ticket: invalid claims")
	// ErrNotYetValid: issued_at_ms is later than now plus the manifest's
	// clock skew allowance (Claims.CheckTime).
	ErrNotYetValid = errors.New("ticket: not yet valid")
	// ErrExpired: now_ms >= issued_at_ms + ttl_s × 1000 (Claims.CheckTime).
	ErrExpired = errors.New("ticket: expired")
)
