package gateway

import (
	"errors"
	"testing"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/internal/console"
)

// Each errno the hive's Secure9P side sends (secure9p.Errno) renders as
// the console's words for the same refusal (consoleserver.nsError).
func TestRefusedWords(t *testing.T) {
	cases := []struct {
		verb console.Verb
		err  error
		want string
	}{
		{console.Cat, linux.ENOENT, "ERR CAT reason=policy detail=invalid-path path=/p error=invalid path"},
		{console.Echo, linux.EPERM, "ERR ECHO reason=policy detail=denied path=/p error=EPERM"},
		{console.Echo, linux.EINVAL, "ERR ECHO reason=policy detail=invalid-payload path=/p error=invalid payload"},
		{console.Echo, linux.EDQUOT, "ERR ECHO reason=quota detail=buffer-full path=/p error=buffer full"},
		// A read fills no buffer: its EDQUOT is the ticket's quota.
		{console.Tail, linux.EDQUOT, "ERR TAIL reason=quota path=/p error=ELIMIT"},
		{console.Cat, linux.EDQUOT, "ERR CAT reason=quota path=/p error=ELIMIT"},
		{console.Echo, linux.EMSGSIZE, "ERR ECHO reason=quota detail=buffer-full path=/p error=buffer full"},
		{console.Ls, linux.EBUSY, "ERR LS reason=busy detail=busy path=/p error=EBUSY"},
		{console.Echo, linux.EHOSTUNREACH, "ERR ECHO reason=cut detail=root-unreachable path=/p error=EHOSTUNREACH"},
		{console.Cat, linux.EBADF, "ERR CAT reason=policy detail=revoked path=/p error=closed"},
		{console.Cat, linux.EIO, "ERR CAT reason=policy detail=invalid-payload path=/p error=invalid payload"},
	}
	for _, c := range cases {
		r := refused(c.verb, "/p", errors.Join(errors.New("9p"), c.err))
		if r.Ack != c.want || r.Status != "ERR" || r.Error != c.want[len("ERR ")+len(c.verb.Label())+1:] {
			t.Errorf("%v %v: ack %q error %q; want %q", c.verb, c.err, r.Ack, r.Error, c.want)
		}
	}
}

// A follower of a rewritten ring resumes after the last line it sent.
func TestAfterAnchor(t *testing.T) {
	data := []byte("b\nc\nd\ne\n")
	for _, c := range []struct {
		anchor, want string
		start        int64
	}{{"c", "d\ne\n", 104}, {"e", "", 108}, {"zz", "b\nc\nd\ne\n", 100}, {"", "b\nc\nd\ne\n", 100}} {
		got := afterAnchor(data, 100, c.anchor)
		if string(got.data) != c.want || got.start != c.start {
			t.Errorf("anchor %q: %q at %d; want %q at %d", c.anchor, got.data, got.start, c.want, c.start)
		}
	}
}
