// Package swarmui is the server half of SwarmUI (issue 16): the HTTP API
// the page in cmd/swarmui/web speaks (docs/SWARMUI.md has the contract),
// cookie sessions each holding one upstream Secure9P session attached with
// the browser's ticket, the live hive stream built from the /proc/ui
// projection, the console panel, the read-only panels and replay. It
// decides nothing: the hive judges every ticket and every path.
package swarmui

import (
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
	"github.com/cohesix/cohesix/internal/nineclient"
)

// Hive is what the server needs of one upstream session; nineclient.Client
// is one.
type Hive interface {
	Read(path string, max int) ([]byte, error)
	ReadFrom(path string, off int64, max int) ([]byte, error)
	List(path string) ([]string, error)
	Stat(path string) (nineclient.Stat, error)
	Close() error
}

// Config is one server's settings.
type Config struct {
	Bind             string
	AllowNonLoopback bool
	TLSCert, TLSKey  string
	Hive9P           string // the hive's Secure9P address
	ConsoleAddr      string // the hive's TCP console, for the console panel
	ConsoleToken     string // its AUTH token: held here, never sent to the page
	Gateway          string // hive-gateway's URL; "" talks Secure9P directly
	GatewayToken     string // the gateway's request-auth token (gatewayapi.TokenEnv)
	Replay           string // a .trace or snapshot file: offline mode, no hive
	Assets           fs.FS  // the built page (web/dist); nil or no index.html answers 503
	Log              io.Writer

	// Dial attaches one upstream session with a ticket; nil dials Hive9P.
	Dial func(ticket string) (Hive, error)
	// Now is the clock (tests inject one); nil is time.Now.
	Now func() time.Time

	SessionsMax        int
	SessionsPerSubject int
	SessionIdle        time.Duration
	RatePerS           int
	Push               time.Duration
}

func (c Config) withDefaults() Config {
	if c.Bind == "" {
		c.Bind = generated.SwarmuiBind
	}
	if c.Hive9P == "" {
		c.Hive9P = generated.NetworkSecure9pListen
	}
	if c.ConsoleAddr == "" {
		c.ConsoleAddr = generated.NetworkConsoleListen
	}
	if c.ConsoleToken == "" {
		c.ConsoleToken = generated.ConsoleAuthToken
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionsMax <= 0 {
		c.SessionsMax = generated.SwarmuiSessionsMax
	}
	if c.SessionsPerSubject <= 0 {
		c.SessionsPerSubject = generated.SwarmuiSessionsPerSubject
	}
	if c.SessionIdle <= 0 {
		c.SessionIdle = time.Duration(generated.SwarmuiSessionIdleS) * time.Second
	}
	if c.RatePerS <= 0 {
		c.RatePerS = generated.SwarmuiRatePerS
	}
	if c.Push <= 0 {
		c.Push = time.Duration(generated.SwarmuiPushMs) * time.Millisecond
	}
	if c.Dial == nil && c.Gateway != "" {
		c.Dial = c.dialGateway
	}
	if c.Dial == nil {
		addr := c.Hive9P
		c.Dial = func(tok string) (Hive, error) {
			cl, err := nineclient.Dial(addr, tok, time.Duration(generated.ClientPoliciesRetryTimeoutMs)*time.Millisecond)
			if err != nil {
				return nil, err
			}
			return cl, nil
		}
	}
	return c
}

// Check refuses a configuration the server must not start with: the
// gateway's loopback-by-default bind rule (shared code), half a TLS pair.
func (c Config) Check() error {
	c = c.withDefaults()
	if err := gatewayapi.CheckBind("UI server", c.Bind, c.AllowNonLoopback); err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.Gateway != "" {
		if _, err := c.gatewayClient(); err != nil {
			return err
		}
	}
	return nil
}
