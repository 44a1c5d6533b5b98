package console

import "github.com/cohesix/cohesix/generated"

// Limits are the console's byte limits. All lengths are in bytes.
type Limits struct {
	Line     int // whole command line (and TCP frame payload)
	Role     int // attach role token
	Ticket   int // attach ticket token
	Path     int // tail/cat/ls/echo path
	JSON     int // spawn payload
	WorkerID int // kill worker id
	Echo     int // echo payload
	Ack      int // rendered ACK/ERR line
	Frame    int // TCP frame total length, header included

	CatSummary     int // path=<p> data=<summary> budget
	CatSummaryLine int // longest content line a cat summary may select
	B64Line        int // longest base64 text after "b64:" on one line
}

// ManifestLimits returns the limits compiled from the root-task manifest.
func ManifestLimits() Limits {
	return Limits{
		Line:           generated.ConsoleLineMaxBytes,
		Role:           generated.ConsoleRoleMax,
		Ticket:         generated.ConsoleTicketMax,
		Path:           generated.ConsolePathMax,
		JSON:           generated.ConsoleJsonMax,
		WorkerID:       generated.ConsoleWorkerIdMax,
		Echo:           generated.ConsoleEchoMax,
		Ack:            generated.ConsoleAckMaxBytes,
		Frame:          generated.ConsoleFrameMaxBytes,
		CatSummary:     generated.ConsoleCatSummaryMaxBytes,
		CatSummaryLine: generated.ConsoleCatSummaryLineMaxBytes,
		B64Line:        generated.ConsoleB64LineMax,
	}
}
