package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/cohesix/cohesix/internal/client"
	"github.com/cohesix/cohesix/internal/hive"
)

// The serial transports speak the newline console (no AUTH) that a root
// task serves on its serial line:
//
//	--transport serial --serial-cmd CMD   runs CMD (e.g. `roottask --serial stdio`,
//	                                      or QEMU with -serial stdio) and talks to its stdio
//	--transport mock-serial               an in-process hive's serial console
//
// Both wait for the first `cohesix> ` prompt, so boot banners never mix into
// the first command's response.

// readWriter joins a reader and a writer into one stream.
type readWriter struct {
	io.Reader
	io.Writer
}

// awaitPrompt consumes r up to and including the first serial prompt,
// copying what came before it (the boot banner) to banner.
func awaitPrompt(r *bufio.Reader, banner io.Writer, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() {
		var seen strings.Builder
		for {
			b, err := r.ReadByte()
			if err != nil {
				done <- fmt.Errorf("serial console ended before its prompt: %w", err)
				return
			}
			seen.WriteByte(b)
			if strings.HasSuffix(seen.String(), hive.SerialPrompt) {
				io.WriteString(banner, strings.TrimSuffix(seen.String(), hive.SerialPrompt))
				done <- nil
				return
			}
		}
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return errors.New("no serial prompt within " + timeout.String())
	}
}

// serialExec is --transport serial: a child process whose stdio is the
// serial console.
type serialExec struct {
	cmd  *exec.Cmd
	conn *client.Conn
}

func startSerialExec(ctx context.Context, command string, banner io.Writer, timeout time.Duration) (*serialExec, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = banner
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", command, err)
	}
	br := bufio.NewReader(out)
	if err := awaitPrompt(br, banner, timeout); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return &serialExec{cmd: cmd, conn: client.NewLineConn(readWriter{br, in})}, nil
}

func (s *serialExec) connect(context.Context) (*client.Conn, error) { return s.conn, nil }

func (s *serialExec) close() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// connectSerial serves the mock hive's serial console over pipes.
func (m *mockHive) connectSerial(context.Context) (*client.Conn, error) {
	if m.serial != nil {
		return m.serial, nil
	}
	// OS pipes, not io.Pipe: a serial line buffers in both directions, so a
	// long line being written must not wait for the refusal being read.
	cr, sw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	sr, cw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		_ = m.h.ServeSerial(sr, sw, true)
		sw.Close()
		sr.Close()
	}()
	br := bufio.NewReader(cr)
	if err := awaitPrompt(br, io.Discard, 5*time.Second); err != nil {
		return nil, err
	}
	m.serial = client.NewLineConn(readWriter{br, cw})
	return m.serial, nil
}
