package console

// Verb is a console verb token in its canonical lower-case spelling.
type Verb string

// The 18 console verbs (spec/console.md §4), in canonical order.
const (
	Help     Verb = "help"
	BootInfo Verb = "bi"
	Caps     Verb = "caps"
	Mem      Verb = "mem"
	Ping     Verb = "ping"
	Test     Verb = "test"
	NetTest  Verb = "nettest"
	NetStats Verb = "netstats"
	Log      Verb = "log"
	CacheLog Verb = "cachelog"
	Quit     Verb = "quit"
	Tail     Verb = "tail"
	Cat      Verb = "cat"
	Ls       Verb = "ls"
	Echo     Verb = "echo"
	Attach   Verb = "attach"
	Spawn    Verb = "spawn"
	Kill     Verb = "kill"
)

// Verbs lists every console verb in canonical order. Callers must not modify it.
var Verbs = []Verb{
	Help, BootInfo, Caps, Mem, Ping, Test, NetTest, NetStats, Log,
	CacheLog, Quit, Tail, Cat, Ls, Echo, Attach, Spawn, Kill,
}

var verbLabels = map[Verb]string{
	Help:     "HELP",
	BootInfo: "BOOTINFO",
	Caps:     "CAPS",
	Mem:      "MEM",
	Ping:     "PING",
	Test:     "TEST",
	NetTest:  "NETTEST",
	NetStats: "NETSTATS",
	Log:      "LOG",
	CacheLog: "CACHELOG",
	Quit:     "QUIT",
	Tail:     "TAIL",
	Cat:      "CAT",
	Ls:       "LS",
	Echo:     "ECHO",
	Attach:   "ATTACH",
	Spawn:    "SPAWN",
	Kill:     "KILL",
}

// Label returns the upper-case ACK label of v (help → HELP, bi → BOOTINFO),
// or "" if v is not one of [Verbs].
func (v Verb) Label() string { return verbLabels[v] }

// Valid reports whether v is one of the 18 console verbs.
func (v Verb) Valid() bool { _, ok := verbLabels[v]; return ok }

// Streaming reports whether a successful response to v carries payload lines
// after the ACK, terminated by [End] (log, tail, cat, ls).
func (v Verb) Streaming() bool { return v == Log || v == Tail || v == Cat || v == Ls }

// LookupVerb matches tok case-insensitively (ASCII only) against the verbs.
func LookupVerb(tok string) (Verb, bool) {
	b := make([]byte, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c >= 0x80 {
			return "", false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	v := Verb(b)
	return v, v.Valid()
}

// ACK labels that are not verb labels.
const (
	LabelAuth      = "AUTH"      // TCP hello (§2)
	LabelFrame     = "FRAME"     // TCP framing violations after auth (§1)
	LabelParse     = "PARSE"     // line parser errors (§3)
	LabelTelemetry = "TELEMETRY" // synthesised by cohsh
	LabelLifecycle = "LIFECYCLE" // synthesised by cohsh
	LabelDetach    = "DETACH"    // synthesised by cohsh
)

// End is the literal line that terminates every streaming or listing response.
const End = "END"

// HelpLines are the console's help text (§10), the payload before OK HELP.
// Callers must not modify it.
var HelpLines = []string{"help", "bi", "caps", "mem", "ping", "test (host-only; use cohsh)", "nettest (dev-virt)", "netstats", "quit"}

// PingReply is the payload line the server sends before "OK PING reply=pong".
const PingReply = "PONG"

// Refusal reasons (the four-way taxonomy of §4).
const (
	ReasonBusy   = "busy"
	ReasonQuota  = "quota"
	ReasonCut    = "cut"
	ReasonPolicy = "policy"
)

// Refusal detail tags (§5, §6).
const (
	DetailUnauthenticated = "unauthenticated"
	DetailInvalidRole     = "invalid-role"
	DetailDenied          = "denied"
	DetailInvalidClaims   = "invalid-claims"
	DetailExpired         = "expired"
	DetailRevoked         = "revoked"
	DetailThrottled       = "throttled"
	DetailRateLimited     = "rate-limited"
	DetailLifecycleDenied = "lifecycle-denied"
	DetailInvalidPath     = "invalid-path"
	DetailBufferFull      = "buffer-full"
	DetailInvalidPayload  = "invalid-payload"
	DetailUnsupported     = "unsupported"
	DetailHostOnly        = "host-only"
	DetailAckTruncated    = "ack-truncated"
	DetailRootUnreachable = "root-unreachable"
	DetailAttachTimeout   = "attach-timeout"
	DetailUnavailable     = "unavailable"
	DetailNetDisabled     = "net-disabled"
	DetailQueueFull       = "queue-full" // busy: the connection's inbound queue is full
	DetailNoEntropy       = "no-entropy" // policy: the platform has no entropy source, so no ticket is accepted (DECISIONS P73)
)

// Namespace error texts carried as error=<text> (§5 mapping table).
const (
	ErrorTextEPERM          = "EPERM"
	ErrorTextELIMIT         = "ELIMIT"
	ErrorTextInvalidPath    = "invalid path"
	ErrorTextBufferFull     = "buffer full"
	ErrorTextInvalidPayload = "invalid payload"
	ErrorTextAttachTimeout  = "attach handshake timed out"
)

// Authentication and session reasons (§2), used as reason=<r> on AUTH and FRAME.
const (
	AuthExpectedToken     = "expected-token"
	AuthInvalidLength     = "invalid-length"
	AuthInvalidToken      = "invalid-token"
	AuthTimeout           = "timeout"
	AuthInactivityTimeout = "inactivity-timeout"
	AuthRecvError         = "recv-error"
	AuthNoEntropy         = "no-entropy" // the right token, on a platform with no entropy source (DECISIONS P73)
)

// Parser error messages (§3), rendered as "ERR PARSE reason=policy detail=<msg>".
const (
	MsgEmptyCommand       = "empty command"
	MsgUnsupportedCommand = "unsupported console command"
	MsgLineTooLong        = "console line exceeded maximum length"
)
