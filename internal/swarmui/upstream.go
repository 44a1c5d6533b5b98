package swarmui

import (
	"context"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/gatewayclient"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// The server reaches the hive one of two ways, both behind Hive: a
// Secure9P session of its own per UI session (nineclient.Client, the
// default), or hive-gateway's REST routes with the UI session's ticket as
// X-Cohesix-Ticket (--gateway, gatewayHive). Either way the hive applies
// the ticket's role: the gateway delegates identity (28b), it does not
// lend its own.

// gatewayHive is Hive over hive-gateway: gatewayclient.HiveFS, whose
// refusals are the errnos Secure9P carries, so hiveStatus and the page's
// words are the same in both modes.
type gatewayHive struct{ fs *gatewayclient.HiveFS }

func (g gatewayHive) Read(path string, max int) ([]byte, error) { return g.fs.Read(path, max) }
func (g gatewayHive) ReadFrom(path string, off int64, max int) ([]byte, error) {
	return g.fs.ReadFrom(path, off, max)
}
func (g gatewayHive) List(path string) ([]string, error) { return g.fs.List(path) }
func (g gatewayHive) Close() error                       { return g.fs.Close() }

// Stat is the gateway's stat in nineclient's shape.
func (g gatewayHive) Stat(path string) (nineclient.Stat, error) {
	st, err := g.fs.Stat(path)
	if err != nil {
		return nineclient.Stat{}, err
	}
	var mode uint32 = 0o444
	if st.AppendOnly {
		mode |= 0o222
	}
	return nineclient.Stat{Dir: st.Kind == "dir", Mode: mode, Size: uint64(st.Size)}, nil
}

func requestTimeout() time.Duration {
	return time.Duration(generated.ClientPoliciesRetryTimeoutMs) * time.Millisecond
}

// gatewayClient is a client of c.Gateway with the request-auth token and
// no ticket.
func (c Config) gatewayClient() (*gatewayclient.Client, error) {
	return gatewayclient.New(c.Gateway, gatewayclient.Options{Token: c.GatewayToken, Timeout: requestTimeout()})
}

// dialGateway is Dial in gateway mode. The gateway dials the hive lazily,
// so the login asks it to stat / with the ticket, as cohsh's REST attach
// does: the hive's verdict on the ticket, refused with the gateway's or
// the hive's words.
func (c Config) dialGateway(tok string) (Hive, error) {
	gw, err := c.gatewayClient()
	if err != nil {
		return nil, err
	}
	h := gatewayHive{fs: gatewayclient.NewHiveFS(gw.WithTicket(tok), requestTimeout())}
	if _, err := h.Stat("/"); err != nil {
		return nil, err
	}
	return h, nil
}

// dialConsole opens the console panel's connection: the hive's TCP
// console, or in gateway mode gatewayclient.Console, the console cohsh
// --transport rest runs, over the same gateway.
func (s *Server) dialConsole(ctx context.Context) (*client.Conn, error) {
	if s.cfg.Gateway != "" {
		gw, err := s.cfg.gatewayClient()
		if err != nil {
			return nil, err
		}
		return client.NewExchangeConn(gatewayclient.NewConsole(gw, s.cfg.Now).Dispatch), nil
	}
	return client.DialOptions(ctx, s.cfg.ConsoleAddr, s.cfg.ConsoleToken, client.Options{Timeout: requestTimeout()})
}
