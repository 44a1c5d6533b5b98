package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cohesix/cohesix/internal/gateway/broker"
)

// The gateway's use: one Do per upstream call (per telemetry segment, per
// SSE poll, never per whole stream), results handed over only on a nil
// error, and the broker's errors mapped to HTTP.
func ExampleBroker_Do() {
	b := broker.New(broker.Config{})
	defer b.Close()
	var lines []string
	err := b.Do(context.Background(), broker.Control, "ticket-hash", func(ctx context.Context) error {
		got := []string{"state=ONLINE"} // the upstream read, honouring ctx
		lines = got
		return nil
	})
	status := http.StatusOK
	switch {
	case errors.Is(err, broker.ErrOverflow):
		status = http.StatusTooManyRequests // with Retry-After: b.RetryAfter()
	case errors.Is(err, broker.ErrDeadline):
		status = http.StatusGatewayTimeout
	case errors.Is(err, broker.ErrClosed):
		status = http.StatusServiceUnavailable
	}
	if err != nil {
		fmt.Println(status) // fn may still run: lines is not the caller's yet
		return
	}
	fmt.Println(status, lines)
	// Output: 200 [state=ONLINE]
}
