package longpoll

import (
	"errors"
	"testing"

	"github.com/seance-go/seance/phx"
)

// TestInvalidUTF8Body: a POST body that is not valid UTF-8 is answered
// {"status":400} (HTTP 200, as every long-poll answer) without processing
// any of its frames, and ends the session with 1007, as a WebSocket text
// frame that is not UTF-8 does.
func TestInvalidUTF8Body(t *testing.T) {
	for name, bad := range map[string]string{
		"payload":    "[\"1\",\"2\",\"room:a\",\"echo\",{\"body\":\"hi \xff\xfe\"}]",
		"ref":        "[\"1\",\"\xc3\",\"room:a\",\"echo\",{}]",
		"stray byte": "\x80",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, Options{})
			tok := f.open("vsn=2.0.0")
			if got := f.post(tok, join); got != 200 {
				t.Fatalf("join POST: %d", got)
			}
			f.collect(tok, 1)
			if got := f.post(tok, `["1","3","room:a","seq",{"i":1}]`, bad, `["1","4","room:a","seq",{"i":2}]`); got != 400 {
				t.Fatalf("POST: %d, want 400", got)
			}
			var ce *phx.CloseError
			if err := f.wait(f.ch.terminated); !errors.As(err, &ce) || ce.Code != phx.CloseInvalidData {
				t.Errorf("channel ended with %v, want close 1007", err)
			}
			if seq := f.ch.sequence(); len(seq) != 0 {
				t.Errorf("frames %v of the refused body were processed", seq)
			}
			f.waitReleased()
			if r := f.get(tok); r.Status != 410 {
				t.Errorf("GET after the refused POST: %+v", r)
			}
		})
	}
}
