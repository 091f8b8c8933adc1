package longpoll_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/longpoll"
	"github.com/seance-go/seance/phx"
)

func Example() {
	ep := phx.NewEndpoint(phx.Config{})
	ep.Handle("room:*", phx.HandlerFuncs{})
	lp := longpoll.New(ep, longpoll.Options{})
	socket := handler.New(ep, handler.Options{LongPoll: lp}) // serves /socket/websocket and /socket/longpoll
	srv := httptest.NewServer(socket)
	defer srv.Close()
	defer ep.Shutdown(context.Background())
	defer lp.Close()

	call := func(method, url, body string) (status int, token string, messages []string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var r struct {
			Status   int
			Token    string
			Messages []string
		}
		json.NewDecoder(resp.Body).Decode(&r)
		return r.Status, r.Token, r.Messages
	}

	status, token, _ := call("GET", srv.URL+"/socket/longpoll?vsn=2.0.0", "")
	fmt.Println("open:", status)
	status, _, _ = call("POST", srv.URL+"/socket/longpoll?vsn=2.0.0&token="+token, `["1","1","room:1","phx_join",{}]`)
	fmt.Println("send:", status)
	status, _, messages := call("GET", srv.URL+"/socket/longpoll?vsn=2.0.0&token="+token, "")
	fmt.Println("poll:", status, messages)
	// Output:
	// open: 410
	// send: 200
	// poll: 200 [["1","1","room:1","phx_reply",{"status":"ok","response":{}}]]
}

// Behind a reverse proxy every request comes from the proxy: name clients
// by the X-Forwarded-For address your proxy appends, for MaxSessionsPerIP.
func ExampleForwardedFor() {
	clientIP := longpoll.ForwardedFor(netip.MustParsePrefix("10.0.0.0/8")) // the proxies' addresses
	_ = longpoll.Options{ClientIP: clientIP, MaxSessionsPerIP: 20}

	r := httptest.NewRequest("GET", "/socket/longpoll?vsn=2.0.0", nil)
	r.RemoteAddr = "10.0.0.5:41000"                              // the proxy
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 198.51.100.7") // a client's claim, then what the proxy saw
	fmt.Println(clientIP(r))
	// Output: 198.51.100.7
}
