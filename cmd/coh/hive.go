package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/cohfs"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/gatewayclient"
	"github.com/cohesix/cohesix/internal/nineclient"
	"github.com/cohesix/cohesix/internal/ticket"
)

// hiveFS is what coh's verbs need of the hive: nineclient.Client over
// Secure9P, or gatewayclient.HiveFS over hive-gateway (--rest-url). Both
// report a hive refusal as the same errno, so a verb prints the same
// lines and exits with the same code over either.
type hiveFS interface {
	List(path string) ([]string, error)
	Read(path string, max int) ([]byte, error)
	ReadFrom(path string, off int64, max int) ([]byte, error)
	Append(path string, off int64, records ...[]byte) (int, error)
	Close() error
}

var (
	_ hiveFS       = (*nineclient.Client)(nil)
	_ hiveFS       = (*gatewayclient.HiveFS)(nil)
	_ cohfs.Remote = (*gatewayclient.HiveFS)(nil)
)

// restFlags are the global flags that move coh onto hive-gateway.
func restFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "rest-url", Usage: "Talk to hive-gateway at this URL instead of Secure9P (env COHSH_REST_URL, COH_REST_URL, HIVE_GATEWAY_URL)"},
		&cli.StringFlag{Name: "rest-auth-token", Usage: "Request-auth token of hive-gateway (env HIVE_GATEWAY_REQUEST_AUTH_TOKEN, COH_REST_AUTH_TOKEN, COHSH_REST_AUTH_TOKEN)"},
	}
}

// restURL is --rest-url, else the first of gatewayapi.URLEnv; "" means
// Secure9P.
func restURL(c *cli.Context) string {
	u, _ := gatewayapi.Resolve(c.String("rest-url"), gatewayapi.URLEnv)
	return u
}

// restClient is the gateway client for --rest-url: the token by
// gatewayapi.TokenEnv's precedence, the ticket from --ticket (or
// COH_TICKET), else gatewayapi.TicketEnv, else one minted for an explicit
// --role; none means the gateway's own identity.
func restClient(c *cli.Context, u string) (*gatewayclient.Client, error) {
	tok, _ := gatewayapi.Resolve(c.String("rest-auth-token"), gatewayapi.TokenEnv)
	tkt, _ := gatewayapi.Resolve(c.String("ticket"), gatewayapi.TicketEnv)
	if tkt == "" && c.IsSet("role") {
		role, err := ticket.ParseRole(c.String("role"))
		if err != nil {
			return nil, fail(exitUsage, "coh: unknown role %q", c.String("role"))
		}
		if tkt, err = nineclient.Mint(role, c.String("subject"), time.Now()); err != nil {
			return nil, fail(exitUnreachable, "coh: %v", err)
		}
	}
	gw, err := gatewayclient.New(u, gatewayclient.Options{Token: tok, Ticket: tkt, Timeout: callTimeout()})
	if err != nil {
		return nil, fail(exitUsage, "coh: --rest-url: %v", err)
	}
	return gw, nil
}

func callTimeout() time.Duration {
	return time.Duration(generated.ClientPoliciesRetryTimeoutMs) * time.Millisecond
}

// dialHive reaches the hive over --rest-url when one is set, else over
// Secure9P (dial).
func dialHive(c *cli.Context) (hiveFS, error) {
	if u := restURL(c); u != "" {
		gw, err := restClient(c, u)
		if err != nil {
			return nil, err
		}
		return gatewayclient.NewHiveFS(gw, callTimeout()), nil
	}
	cl, err := dial(c)
	if err != nil {
		return nil, err
	}
	return cl, nil
}
