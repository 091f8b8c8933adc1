package clustertest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Scenario runs phoenix.js (package pkg) in leg (RunScript: Node,
// RunBrowser: Chromium) against three nodes started by start(name): a
// LongPoll socket through a round-robin proxy and a WebSocket to one node,
// both as user "alice".
//
//  1. Long-poll works without sticky sessions: the proxy sends requests to
//     every node, and every echo is answered by the session's owner.
//  2. POST /disconnect?id=user_socket:alice on a third node closes both
//     sockets; both reconnect and rejoin.
//  3. The long-poll session's owner is killed (SIGKILL): the client
//     reconnects through the proxy and carries on with a live node.
//
// phoenix 1.7 answers a {"status":410} to a poll of a session it had by
// carrying on with a new session without rejoining its channels (1.8.2
// closes, reconnects and rejoins), with Phoenix servers as with this one:
// the script joins again itself when its socket opens again under a channel
// that still says "joined" (event lp_stale_channel), as a 1.7 app has to.
// With 1.8 that must never be needed.
func Scenario(t *testing.T, leg Leg, pkg string, start func(name string) *Proc) {
	procs := []*Proc{start("n1"), start("n2"), start("n3")}
	byName := func(name string) *Proc {
		for _, p := range procs {
			if p.Name == name {
				return p
			}
		}
		t.Fatalf("no node %q", name)
		return nil
	}
	proxy := RoundRobin(t, procs...)
	wsNode := procs[0]
	s := leg(t, proxy.URL+"/socket", "ws"+strings.TrimPrefix(wsNode.URL, "http")+"/socket", pkg)

	// 1. Long-poll through the round-robin proxy.
	j := s.Expect("lp_joined", nil)
	owner := j.Str("node")
	checkEchoes(t, s, 1, owner)
	served := proxy.Served()
	if len(served) < 2 {
		t.Errorf("the proxy sent every request to the same node: %v", served)
	}
	if w := s.Expect("ws_joined", nil); w.Str("node") != wsNode.Name {
		t.Errorf("WebSocket joined on %s, want %s", w.Str("node"), wsNode.Name)
	}

	// 2. Disconnect alice everywhere, from a node serving neither socket
	// when there is one.
	from := procs[2]
	for _, p := range procs {
		if p.Name != owner && p != wsNode {
			from = p
		}
	}
	var resp struct{ Local int }
	if st := from.Post(t, "/disconnect?id=user_socket:alice", &resp); st != 200 {
		t.Fatalf("POST /disconnect: HTTP %d", st)
	}
	s.Expect("ws_close", nil)
	s.Expect("ws_joined", func(e Event) bool { return e.Num("n") == 2 })
	j = s.Expect("lp_joined", func(e Event) bool { return e.Num("n") == 2 })
	owner = j.Str("node")
	checkEchoes(t, s, 2, owner)

	// 3. Kill the long-poll session's owner.
	byName(owner).Kill()
	before := proxy.Served()
	j = s.Expect("lp_joined", func(e Event) bool { return e.Num("n") == 3 })
	if j.Str("node") == owner {
		t.Fatalf("rejoined on the killed node %s", owner)
	}
	checkEchoes(t, s, 3, j.Str("node"))
	// The survivors both served the new session's requests: the one that
	// is not its owner relayed them.
	after := proxy.Served()
	for _, p := range procs {
		if p.Name != owner && after[p.Name] <= before[p.Name] {
			t.Errorf("after the kill, %s served no request (before %v, after %v)", p.Name, before, after)
		}
	}
	if pkg != "phoenix17" && slices.ContainsFunc(s.Seen(), func(e Event) bool { return e.Str("event") == "lp_stale_channel" }) {
		t.Errorf("%s left its channel joined on a new long-poll session", pkg)
	}
	t.Logf("events: %v", s.Seen())
}

// checkEchoes waits for the n-th round of echoes and checks they were all
// answered by the session's owner.
func checkEchoes(t *testing.T, s *Script, n int, owner string) {
	t.Helper()
	e := s.Expect("lp_echoes", func(e Event) bool { return e.Num("n") == n })
	nodes, _ := e["nodes"].([]any)
	if len(nodes) != 10 {
		t.Fatalf("round %d: %d echoes: %v", n, len(nodes), e)
	}
	got := make([]string, len(nodes))
	for i, v := range nodes {
		got[i] = fmt.Sprint(v)
	}
	if slices.ContainsFunc(got, func(s string) bool { return s != owner }) {
		t.Errorf("round %d: echoes answered by %v, want all by the owner %s", n, got, owner)
	}
}
