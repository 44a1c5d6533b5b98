package gatewayapi

import "os"

// Environment variables, in the order they are consulted after a flag.
var (
	// TokenEnv is the request-auth token's precedence, the same in the
	// gateway and in every client (25b; issue 14 fixes one order).
	TokenEnv = []string{"HIVE_GATEWAY_REQUEST_AUTH_TOKEN", "COH_REST_AUTH_TOKEN", "COHSH_REST_AUTH_TOKEN"}
	// URLEnv is where a client finds the gateway (24e).
	URLEnv = []string{"COHSH_REST_URL", "COH_REST_URL", "HIVE_GATEWAY_URL"}
	// TicketEnv is a client's delegated ticket (28b).
	TicketEnv = []string{"COH_REST_TICKET"}
)

// Resolve returns flag when it is set, else the first non-empty variable
// of env, with the name of where the value came from ("flag", a variable
// name, or "" when none is set).
func Resolve(flag string, env []string) (value, source string) {
	if flag != "" {
		return flag, "flag"
	}
	for _, k := range env {
		if v := os.Getenv(k); v != "" {
			return v, k
		}
	}
	return "", ""
}
