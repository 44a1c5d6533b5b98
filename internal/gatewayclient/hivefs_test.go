package gatewayclient

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/hugelgupf/p9/linux"

	"github.com/cohesix/cohesix/generated"
	"github.com/cohesix/cohesix/internal/gatewayapi"
)

// TestErrno: a refusal's console words map back to the errno Secure9P
// carries, so coh prints the same error over both transports.
func TestErrno(t *testing.T) {
	for ack, want := range map[string]linux.Errno{
		"ERR CAT reason=policy detail=invalid-path path=/x error=invalid path":        linux.ENOENT,
		"ERR ECHO reason=policy detail=denied path=/proc/boot error=EPERM":            linux.EPERM,
		"ERR ECHO reason=policy detail=invalid-payload path=/q error=invalid payload": linux.EINVAL,
		"ERR ECHO reason=quota detail=buffer-full path=/q error=buffer full":          linux.EDQUOT,
		"ERR ECHO reason=busy detail=busy path=/q error=EBUSY":                        linux.EBUSY,
		"ERR TAIL reason=policy detail=invalid-path path=/proc/boot":                  linux.ENOENT,
		"ERR ECHO reason=cut detail=root-unreachable":                                 linux.EHOSTUNREACH,
		"ERR CAT reason=policy detail=something-new":                                  linux.EIO,
	} {
		if got := Errno(gatewayapi.Response{Status: "ERR", Ack: ack}); got != want {
			t.Errorf("%s: %v, want %v", ack, got, want)
		}
	}
}

// TestHiveFSReadFrom reads a file larger than one gateway read in
// several requests, and refuses one over max as nineclient does.
func TestHiveFSReadFrom(t *testing.T) {
	body := strings.Repeat("x", generated.GatewayMaxReadBytes+10)
	reqs := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs++
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		n, _ := strconv.Atoi(r.URL.Query().Get("max_bytes"))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte(body[off:min(len(body), off+n)]))
	}))
	defer srv.Close()
	c, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHiveFS(c, 0)
	b, err := h.Read("/f", 0)
	if err != nil || string(b) != body || reqs != 2 {
		t.Fatalf("read %d bytes in %d requests, err %v", len(b), reqs, err)
	}
	if _, err := h.Read("/f", len(body)-1); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("over max: %v", err)
	}
}

// FuzzErrno: any ack text maps to some errno without panicking, and an
// OK ack is never mistaken for a known refusal's words.
func FuzzErrno(f *testing.F) {
	for _, s := range []string{
		"ERR CAT reason=policy detail=invalid-path path=/x error=invalid path",
		"ERR ECHO reason=quota detail=buffer-full path=/q error=buffer full",
		"ERR TAIL reason=policy detail=invalid-path path=/proc/boot",
		"OK CAT path=/x data=error=EPERM",
		"ERR", "", " error=", "ERR X detail=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ack string) {
		if e := Errno(gatewayapi.Response{Status: "ERR", Ack: ack}); e == 0 {
			t.Fatalf("%q mapped to errno 0", ack)
		}
	})
}
