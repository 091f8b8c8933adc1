package presencetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/pubsub/internal/adaptertest"
)

// proc is a node process and the clients connected to it.
type proc struct {
	name    string
	base    string // http://host:port
	cmd     *exec.Cmd
	done    chan struct{}
	watcher *client.Presence
}

// RunCluster starts three presence nodes (this test binary, re-executed:
// its TestMain must call [NodeMain]) on the broker srv whose address the
// nodes get as broker, and checks, with a watcher client on every node
// (WebSocket on two, long-poll on one) and two tracked clients per node:
// every node and every watcher converge on the same list after hundreds
// of tracks, updates and untracks across the nodes and after a broker
// restart in the middle of the churn; then a node killed with SIGKILL
// leaves every other node's list within DownAfter, and a long-poll poll
// another node was relaying to it ends then, with a new session.
func RunCluster(t *testing.T, srv *adaptertest.Server, broker string) {
	nodes := []*proc{
		startProc(t, "p1", broker), startProc(t, "p2", broker), startProc(t, "p3", broker),
	}
	for i, p := range nodes {
		tr := client.WebSocket
		if i == 1 {
			tr = client.LongPoll
		}
		p.watcher = watch(t, p, tr)
		for j := range 2 {
			track(t, p, fmt.Sprintf("user-%s-%d", p.name, j))
		}
	}
	converge(t, "after the joins", nodes)

	var wg sync.WaitGroup
	churnAll := func(ops int) {
		for _, p := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				post(t, p.base+fmt.Sprintf("/churn?ops=%d", ops))
			}()
		}
		wg.Wait()
	}
	for range 3 {
		churnAll(100)
	}
	list := converge(t, "after 900 tracks, updates and untracks", nodes)
	if len(list) < 10 {
		t.Fatalf("too few entries to prove anything: %v", list)
	}

	// The broker restarts in the middle of the churn.
	churnAll(50)
	srv.Stop()
	churnAll(50)
	srv.Restart()
	churnAll(50)
	converge(t, "after the broker restart", nodes)

	// A long-poll session p3 owns, polled through p2: p2 relays the poll to
	// p3, which holds it (nothing to send) and acknowledges the relay, so
	// that only p3's answer or p3 going down can end it.
	token, err := openLongPoll(&http.Client{Timeout: 10 * time.Second}, nodes[2].base, "")
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		token string
		err   error
	}
	relayed := make(chan answer, 1)
	go func() {
		tok, err := openLongPoll(&http.Client{Timeout: 30 * time.Second}, nodes[1].base, token)
		relayed <- answer{tok, err}
	}()
	time.Sleep(2 * time.Second) // past the acknowledgement (a third of the default RelayTimeout, 3s)

	// p3 is killed: its entries leave p1 and p2 within DownAfter.
	if err := nodes[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodes[2].done
	killed := time.Now()
	deadline := killed.Add(DownAfter + 5*time.Second)
	for {
		left := true
		for _, p := range nodes[:2] {
			if owned(listOf(t, p), "p3") > 0 || owned(watched(p), "p3") > 0 {
				left = false
			}
		}
		if left {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("p3's entries still listed %v after SIGKILL", time.Since(killed))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("p3's entries left p1 and p2 %v after SIGKILL (DownAfter %v)", time.Since(killed).Round(time.Millisecond), DownAfter)
	if took := time.Since(killed); took > DownAfter+Heartbeat+time.Second {
		t.Errorf("p3's entries left after %v; DownAfter is %v", took, DownAfter)
	}
	converge(t, "without p3", nodes[:2])

	// The poll relayed to p3 ended when p2's Membership declared p3 down,
	// with a new session on p2, not when the client gave up.
	select {
	case a := <-relayed:
		switch {
		case a.err != nil:
			t.Errorf("the poll relayed to p3: %v", a.err)
		case a.token == token:
			t.Errorf("the relayed poll of p3's session kept its token %s", token)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the poll relayed to p3 still waits %v after SIGKILL", time.Since(killed))
	}
}

// openLongPoll polls base's long-poll endpoint with token ("" for none)
// and returns the token of the session it opens ({"status":410}).
func openLongPoll(c *http.Client, base, token string) (string, error) {
	url := base + "/socket/longpoll?vsn=2.0.0"
	if token != "" {
		url += "&token=" + token
	}
	res, err := c.Get(url)
	if err != nil {
		return "", fmt.Errorf("long-poll GET %s: %w", url, err)
	}
	defer res.Body.Close()
	var r struct {
		Status int    `json:"status"`
		Token  string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil || r.Status != 410 || r.Token == "" {
		return "", fmt.Errorf("long-poll GET %s: %+v, %v; want a new session", url, r, err)
	}
	return r.Token, nil
}

func startProc(t *testing.T, name, broker string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envNode+"="+name, envBroker+"="+broker,
		envHeartbeat+"="+Heartbeat.String(), envDownAfter+"="+DownAfter.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if base, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				lines <- base
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	select {
	case p.base = <-lines:
	case <-p.done:
		t.Fatalf("node %s exited: %s", name, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not start", name)
	}
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func dial(t *testing.T, p *proc, tr client.Transport) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(p.base, "http") + "/socket"
	s, err := client.Dial(ctx, url, &client.Options{Transport: tr})
	if err != nil {
		t.Fatalf("dial %s: %v", p.name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// watch joins room:1 on p without being tracked, mirroring its list.
func watch(t *testing.T, p *proc, tr client.Transport) *client.Presence {
	t.Helper()
	ch := dial(t, p, tr).Channel("room:1", map[string]string{})
	pr := client.NewPresence(ch, client.PresenceOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ch.Join(ctx); err != nil {
		t.Fatalf("watcher join on %s: %v", p.name, err)
	}
	return pr
}

// track joins room:1 on p as user.
func track(t *testing.T, p *proc, user string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := dial(t, p, client.WebSocket).Join(ctx, "room:1", map[string]string{"user": user}); err != nil {
		t.Fatalf("join on %s: %v", p.name, err)
	}
}

func post(t *testing.T, url string) {
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST %s: %s", url, resp.Status)
	}
}

// entry is one meta in canonical form: "key ref node".
type entries []string

func listOf(t *testing.T, p *proc) entries {
	t.Helper()
	resp, err := http.Get(p.base + "/presence?topic=room:1")
	if err != nil {
		t.Fatalf("GET /presence on %s: %v", p.name, err)
	}
	defer resp.Body.Close()
	var st client.PresenceState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET /presence on %s: %v", p.name, err)
	}
	return canon(st)
}

func watched(p *proc) entries { return canon(p.watcher.List()) }

func canon(st client.PresenceState) entries {
	var out entries
	for k, e := range st {
		for _, m := range e.Metas {
			var meta struct{ Node string }
			m.Decode(&meta)
			out = append(out, k+" "+m.Ref+" "+meta.Node)
		}
	}
	slices.Sort(out)
	return out
}

func owned(es entries, node string) int {
	n := 0
	for _, e := range es {
		if strings.HasSuffix(e, " "+node) {
			n++
		}
	}
	return n
}

// converge waits until every node's list (GET /presence) and every
// watcher's list are the same, and returns it.
func converge(t *testing.T, what string, nodes []*proc) entries {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		first := listOf(t, nodes[0])
		same := true
		for _, p := range nodes {
			if !slices.Equal(listOf(t, p), first) || !slices.Equal(watched(p), first) {
				same = false
				break
			}
		}
		if same {
			t.Logf("%s: %d nodes and their watchers list the same %d metas (%d of p3)", what, len(nodes), len(first), owned(first, "p3"))
			return first
		}
		if time.Now().After(deadline) {
			for _, p := range nodes {
				t.Logf("%s: node lists %d, its watcher %d", p.name, len(listOf(t, p)), len(watched(p)))
			}
			t.Fatalf("%s: the lists did not converge", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
