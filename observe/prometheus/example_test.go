package prometheus_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/observe/prometheus"
	"github.com/seance-go/seance/phx"
)

// Export an endpoint's metrics at /metrics beside its socket.
func Example() {
	m := prometheus.New(prometheus.Options{})
	ep := phx.NewEndpoint(phx.Config{Observer: m.Observer(), Logger: quietLogger()})
	ep.Handle("room:*", phx.HandlerFuncs{})
	m.WatchEndpoint(ep) // PubSub figures at scrape time
	reg := promclient.NewRegistry()
	reg.MustRegister(m)

	mux := http.NewServeMux()
	mux.Handle("/socket/", handler.New(ep, handler.Options{}))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// A client joins two rooms (in process here; phoenix.js in real life).
	sess, _ := ep.Open(phx.ConnectInfo{Transport: "websocket"}, phx.V2JSON(), true)
	sess.Receive([]byte(`["1","1","room:1","phx_join",{}]`), false)
	sess.Receive([]byte(`["2","2","room:2","phx_join",{}]`), false)
	sess.Detach()
	ep.Shutdown(context.Background())

	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP seance_joins_total Joins answered, by route pattern, transport and result (ok, refused, crashed).
# TYPE seance_joins_total counter
seance_joins_total{pattern="room:*",result="crashed",transport="websocket"} 0
seance_joins_total{pattern="room:*",result="ok",transport="websocket"} 2
seance_joins_total{pattern="room:*",result="refused",transport="websocket"} 0
`), "seance_joins_total")
	fmt.Println("joins by pattern, not topic:", err == nil)
	// Output:
	// joins by pattern, not topic: true
}
