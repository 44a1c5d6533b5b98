package gatewayapi

import (
	"fmt"
	"net"
)

// CheckBind is the loopback-by-default bind rule every HTTP server of the
// hive shares (hive-gateway, swarmui; milestone 20f): a bind that is not a
// loopback address needs the --allow-non-loopback risk flag. who names the
// program in the refusal.
func CheckBind(who, bind string, allowNonLoopback bool) error {
	host, _, err := net.SplitHostPort(bind)
	if err != nil {
		return fmt.Errorf("--bind %q: %v (want host:port)", bind, err)
	}
	if !IsLoopback(host) && !allowNonLoopback {
		return fmt.Errorf("--bind %s is not a loopback address: the %s would answer the network; pass --allow-non-loopback (and --tls-cert/--tls-key) to accept the risk", bind, who)
	}
	return nil
}

// IsLoopback reports whether host (no port) is "localhost" or a loopback IP.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
