package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/seance-go/seance/pubsub/internal/adaptertest"
	"github.com/seance-go/seance/pubsub/internal/clustertest"
	psredis "github.com/seance-go/seance/pubsub/redis"
	"github.com/seance-go/seance/pubsub/redis/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 20 * time.Second

// buildNode compiles this command into dir.
func buildNode(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "seance-node")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is one seance-node process.
type proc struct {
	name string
	url  string // http://host:port
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

func startProc(t *testing.T, bin, redisAddr, name, mode string) *proc {
	t.Helper()
	p := &proc{name: name, logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "-addr", "127.0.0.1:0", "-node", name, "-redis", redisAddr, "-mode", mode)
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "seance-node: listening on "); ok {
				listening <- u
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case err := <-p.done:
			t.Errorf("%s exited early: %v", name, err)
		default:
			// Graceful shutdown must succeed.
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-p.done:
				if err != nil {
					t.Errorf("%s shutdown: %v", name, err)
				}
			case <-time.After(wait):
				_ = p.cmd.Process.Kill()
				<-p.done
				t.Errorf("%s did not shut down on SIGTERM", name)
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.logs.String())
		}
	})
	select {
	case p.url = <-listening:
	case err := <-p.done:
		t.Fatalf("%s exited: %v\n%s", name, err, p.logs.String())
	case <-time.After(wait):
		t.Fatalf("%s did not start\n%s", name, p.logs.String())
	}
	adaptertest.WaitFor(t, wait, name+" connected to Redis", func() bool { return p.stats(t).Connected })
	return p
}

func (p *proc) stats(t *testing.T) psredis.Stats {
	t.Helper()
	resp, err := http.Get(p.url + "/stats")
	if err != nil {
		t.Fatalf("%s /stats: %v", p.name, err)
	}
	defer resp.Body.Close()
	var st psredis.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// broadcast posts to /broadcast and returns the HTTP status.
func (p *proc) broadcast(t *testing.T, topic, event, body string) int {
	t.Helper()
	resp, err := http.Post(p.url+"/broadcast?topic="+topic+"&event="+event, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s /broadcast: %v", p.name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (p *proc) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		t.Fatalf("%s exited: %v\n%s", p.name, err, p.logs.String())
	default:
	}
}

// client is a raw Phoenix Channels v2 WebSocket client.
type client struct {
	t      *testing.T
	name   string
	conn   *websocket.Conn
	frames chan frame
	ref    int
}

type frame struct {
	JoinRef, Ref *string
	Topic, Event string
	Payload      json.RawMessage
}

func dial(t *testing.T, p *proc, name string) *client {
	t.Helper()
	url := "ws" + strings.TrimPrefix(p.url, "http") + "/socket/websocket?vsn=2.0.0"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c := &client{t: t, name: name, conn: conn, frames: make(chan frame, 256)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(c.frames)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var arr []json.RawMessage
			if err := json.Unmarshal(data, &arr); err != nil || len(arr) != 5 {
				continue
			}
			var f frame
			_ = json.Unmarshal(arr[0], &f.JoinRef)
			_ = json.Unmarshal(arr[1], &f.Ref)
			_ = json.Unmarshal(arr[2], &f.Topic)
			_ = json.Unmarshal(arr[3], &f.Event)
			f.Payload = arr[4]
			c.frames <- f
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-readerDone
	})
	return c
}

func (c *client) push(joinRef, topic, event string, payload any) string {
	c.t.Helper()
	c.ref++
	ref := fmt.Sprint(c.ref)
	var jr any
	if joinRef != "" {
		jr = joinRef
	}
	if err := c.conn.WriteJSON([]any{jr, ref, topic, event, payload}); err != nil {
		c.t.Fatalf("%s push: %v", c.name, err)
	}
	return ref
}

// expect reads frames until one matches, failing after the deadline.
func (c *client) expect(what string, match func(frame) bool) frame {
	c.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("%s: connection closed while waiting for %s", c.name, what)
			}
			if match(f) {
				return f
			}
		case <-timeout:
			c.t.Fatalf("%s: no %s within %v", c.name, what, wait)
		}
	}
}

// join joins topic and returns the join ref after an ok reply.
func (c *client) join(topic string) string {
	c.t.Helper()
	ref := c.push("", topic, "phx_join", map[string]any{})
	joinRef := ref
	// The join's own ref is its join_ref.
	f := c.expect("join reply on "+topic, func(f frame) bool {
		return f.Event == "phx_reply" && f.Topic == topic && f.Ref != nil && *f.Ref == ref
	})
	var r struct{ Status string }
	_ = json.Unmarshal(f.Payload, &r)
	if r.Status != "ok" {
		c.t.Fatalf("%s: join %s: %s", c.name, topic, f.Payload)
	}
	return joinRef
}

func event(topic, name string) func(frame) bool {
	return func(f frame) bool { return f.Topic == topic && f.Event == name }
}

// counterValue follows a LiveState counter: it reads state:change and
// state:patch frames until the count equals want.
func (c *client) counterValue(topic string, want int64) {
	c.t.Helper()
	c.expect(fmt.Sprintf("count %d on %s", want, topic), func(f frame) bool {
		if f.Topic != topic {
			return false
		}
		switch f.Event {
		case "state:change":
			var p struct{ State struct{ Count int64 } }
			_ = json.Unmarshal(f.Payload, &p)
			return p.State.Count == want
		case "state:patch":
			var p struct {
				Patch []struct {
					Op, Path string
					Value    json.RawMessage
				}
			}
			_ = json.Unmarshal(f.Payload, &p)
			for _, op := range p.Patch {
				if op.Op == "replace" && op.Path == "/count" && string(op.Value) == fmt.Sprint(want) {
					return true
				}
			}
		}
		return false
	})
}

// waitSubscribed waits until both nodes are subscribed to topic in Redis
// (Topics mode): the engine subscribes a node after it has queued the join
// reply, so the reply alone does not prove the node hears other nodes yet.
func waitSubscribed(t *testing.T, rdb *goredis.Client, mode, topic string, n int64) {
	t.Helper()
	if mode != "topics" {
		return
	}
	ch := "seance:t:" + topic
	adaptertest.WaitFor(t, wait, fmt.Sprintf("%d Redis subscribers of %s", n, ch), func() bool {
		m, err := rdb.PubSubNumSub(context.Background(), ch).Result()
		return err == nil && m[ch] == n
	})
}

// Two seance-node processes share a Redis the test starts: clients on
// different nodes see each other's broadcasts, a REST broadcast on one node
// reaches the other's clients, LiveState counters on both nodes react to one
// broadcast, and after Redis is killed and restarted on the same port the
// nodes carry broadcasts again without crashing.
func TestTwoNodes(t *testing.T) {
	bin := buildNode(t, t.TempDir())
	for _, mode := range []string{"topics", "bus"} {
		t.Run(mode, func(t *testing.T) { testTwoNodes(t, bin, mode) })
	}
}

func testTwoNodes(t *testing.T, bin, mode string) {
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer rdb.Close()
	n1 := startProc(t, bin, srv.Addr, "n1", mode)
	n2 := startProc(t, bin, srv.Addr, "n2", mode)

	c1 := dial(t, n1, "c1")
	c2 := dial(t, n2, "c2")
	const room = "room:lobby"
	j1, j2 := c1.join(room), c2.join(room)
	waitSubscribed(t, rdb, mode, room, 2)

	// A client on each node sees the other's broadcast.
	c1.push(j1, room, "shout", map[string]string{"body": "from c1"})
	f := c2.expect("c1's shout", event(room, "shout"))
	if !bytes.Contains(f.Payload, []byte("from c1")) {
		t.Errorf("c2 got %s", f.Payload)
	}
	c2.push(j2, room, "shout", map[string]string{"body": "from c2"})
	c1.expect("c2's shout", func(f frame) bool {
		return event(room, "shout")(f) && bytes.Contains(f.Payload, []byte("from c2"))
	})

	// A REST broadcast on node 2 reaches node 1's client.
	if st := n2.broadcast(t, room, "news", `{"headline":"rest"}`); st != http.StatusOK {
		t.Fatalf("REST broadcast: HTTP %d", st)
	}
	f = c1.expect("REST broadcast from n2", event(room, "news"))
	if !bytes.Contains(f.Payload, []byte(`"rest"`)) {
		t.Errorf("c1 got %s", f.Payload)
	}

	// LiveState counters on both nodes react to one broadcast.
	const counter = "counter:shared"
	k1, _ := c1.join(counter), c2.join(counter)
	waitSubscribed(t, rdb, mode, counter, 2)
	c1.counterValue(counter, 0)
	c2.counterValue(counter, 0)
	if st := n2.broadcast(t, counter, "inc", `{"by":5}`); st != http.StatusOK {
		t.Fatalf("REST inc: HTTP %d", st)
	}
	c1.counterValue(counter, 5)
	c2.counterValue(counter, 5)
	c1.push(k1, counter, "lvs_evt:inc", map[string]int{"by": 2})
	c1.counterValue(counter, 7)
	c2.counterValue(counter, 7)

	// Redis dies: no crash, a REST broadcast reports the lost fan-out.
	srv.Stop()
	adaptertest.WaitFor(t, wait, "both nodes to notice the outage", func() bool {
		return !n1.stats(t).Connected && !n2.stats(t).Connected
	})
	if st := n2.broadcast(t, room, "during", `{}`); st != http.StatusBadGateway {
		t.Errorf("REST broadcast while Redis is down: HTTP %d, want 502", st)
	}
	if st := n2.stats(t); st.PublishErrors == 0 {
		t.Errorf("n2 counted no publish error: %+v", st)
	}

	// Redis comes back on the same port: both nodes reconnect and resubscribe
	// by themselves and broadcasts flow again, both ways.
	srv.Restart()
	adaptertest.WaitFor(t, wait, "both nodes to reconnect", func() bool {
		return n1.stats(t).Reconnects == 1 && n2.stats(t).Reconnects == 1
	})
	resumed := func(from *proc, to *client, topic string) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for i := 0; ; i++ {
			ev := fmt.Sprintf("after%d", i)
			from.broadcast(t, topic, ev, `{}`)
			select {
			case f := <-to.frames:
				if f.Topic == topic && strings.HasPrefix(f.Event, "after") {
					return
				}
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("broadcasts on %s from %s did not resume", topic, from.name)
			}
		}
	}
	resumed(n2, c1, room)
	resumed(n1, c2, room)
	if st := n1.broadcast(t, counter, "inc", `{"by":10}`); st != http.StatusOK {
		t.Fatalf("REST inc after the restart: HTTP %d", st)
	}
	c1.counterValue(counter, 17)
	c2.counterValue(counter, 17)
	n1.alive(t)
	n2.alive(t)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Three seance-node processes on one Redis behind a round-robin proxy that
// alternates nodes per request: phoenix.js long-poll works without sticky
// sessions, survives its owner's death, and a disconnect by socket id on
// one node closes the user's sockets on the others, both transports.
func TestCluster(t *testing.T) {
	bin := buildNode(t, t.TempDir())
	for _, pkg := range []string{"phoenix", "phoenix17"} {
		t.Run(pkg, func(t *testing.T) {
			srv := redistest.Start(t)
			clustertest.Scenario(t, pkg, func(name string) *clustertest.Proc {
				return clustertest.Start(t, bin, name, "-redis", srv.Addr, "-secret", clusterSecret)
			})
		})
	}
}

const clusterSecret = "a test secret of at least thirty-two bytes"
