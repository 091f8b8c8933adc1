package cuttest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCut: a hijacked /websocket connection of client a is recorded and
// reset by Cut, a's requests are then refused with Status while b's and
// those without a client id pass.
func TestCut(t *testing.T) {
	for _, status := range []int{0, http.StatusInternalServerError} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c := &Cutter{Status: status}
			hijacked := make(chan struct{}, 1)
			srv := httptest.NewServer(c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/socket/websocket" {
					if _, _, err := http.NewResponseController(w).Hijack(); err != nil {
						t.Errorf("hijack: %v", err)
					}
					hijacked <- struct{}{}
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})))
			defer srv.Close()

			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /socket/websocket?client_id=a HTTP/1.1\r\nHost: x\r\n\r\n")
			select {
			case <-hijacked:
			case <-time.After(10 * time.Second):
				t.Fatal("the connection was not hijacked")
			}
			if n := c.Cut("a", time.Minute); n != 1 {
				t.Fatalf("Cut closed %d connections, want 1", n)
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = bufio.NewReader(conn).ReadByte()
			if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
				t.Fatalf("read after the cut: %v, want the connection closed", err)
			}

			want := status
			if want == 0 {
				want = http.StatusServiceUnavailable
			}
			for q, code := range map[string]int{"?client_id=a": want, "?client_id=b": http.StatusNoContent, "": http.StatusNoContent} {
				resp, err := http.Get(srv.URL + "/socket/longpoll" + q)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != code {
					t.Errorf("GET %q: HTTP %d, want %d", q, resp.StatusCode, code)
				}
			}
		})
	}
}
