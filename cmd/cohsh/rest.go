package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/gatewayclient"
)

// --transport rest speaks to hive-gateway instead of the TCP console,
// through gatewayclient.Console (shared with SwarmUI's console panel).

// requestTimeout bounds one gateway request, as the TCP transport bounds
// one console read.
func requestTimeout() time.Duration {
	return time.Duration(generated.ClientPoliciesRetryTimeoutMs) * time.Millisecond
}

// restTransport is --transport rest: the gateway URL and token from the
// flags or gatewayapi's environment precedence.
func restTransport(o options, now func() time.Time) (func(context.Context) (*client.Conn, error), func(), error) {
	u, _ := gatewayapi.Resolve(o.restURL, gatewayapi.URLEnv)
	if u == "" {
		return nil, nil, fmt.Errorf("--transport rest needs --rest-url or one of %s", strings.Join(gatewayapi.URLEnv, ", "))
	}
	tok, _ := gatewayapi.Resolve(o.restToken, gatewayapi.TokenEnv)
	gw, err := gatewayclient.New(u, gatewayclient.Options{Token: tok, Timeout: requestTimeout()})
	if err != nil {
		return nil, nil, err
	}
	rc := gatewayclient.NewConsole(gw, now)
	return func(context.Context) (*client.Conn, error) { return client.NewExchangeConn(rc.Dispatch), nil }, func() {}, nil
}
