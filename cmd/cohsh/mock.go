package main

import (
	"context"
	"io"
	"net"

	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/hive"
)

// mockHive is the --transport mock backend: an in-process root task whose
// console is served over net.Pipe with the same framing and AUTH as TCP.
type mockHive struct {
	h           *hive.Hive
	token       string
	log         io.Writer
	interactive bool
	serial      *client.Conn // the mock-serial console, once opened
}

func newMock(o hive.Options, token string, log io.Writer, interactive bool) (*mockHive, error) {
	h, err := hive.New(o)
	if err != nil {
		return nil, err
	}
	return &mockHive{h: h, token: token, log: log, interactive: interactive}, nil
}

func (m *mockHive) dial(context.Context) (net.Conn, error) {
	cli, srv := net.Pipe()
	go m.h.ServeConsole(srv)
	return cli, nil
}

func (m *mockHive) connect(ctx context.Context) (*client.Conn, error) {
	return client.DialOptions(ctx, "mock", m.token, client.Options{Log: m.log, Reconnect: m.interactive, Dial: m.dial})
}

func (m *mockHive) close() { m.h.Close() }
