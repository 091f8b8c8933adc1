package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/client"
	clientls "github.com/seance-go/seance/client/livestate"
)

// viewersOn joins viewers:<list> as name over tr and returns its mirror.
func viewersOn(t *testing.T, url, list, name string, tr client.Transport) *clientls.Mirror {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, url, &client.Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := clientls.New(s, "viewers:"+list, map[string]string{"name": name})
	if err := m.Join(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitViewers waits until m's state lists want ("name×tabs").
func waitViewers(t *testing.T, m *clientls.Mirror, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		var st ViewersState
		if m.StateInto(&st) == nil {
			got = got[:0]
			for _, v := range st.Viewers {
				got = append(got, v.Name+"×"+strings.Repeat("I", v.Tabs))
			}
			if slices.Equal(got, want) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("viewers %v, want %v", got, want)
}

// Who is viewing a list, over WebSocket and long-poll: joins, a second
// tab, leaves.
func TestViewersOfAList(t *testing.T) {
	srv := startServer(t, config{}, "127.0.0.1:0")
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket"
	ann := viewersOn(t, url, "groceries", "ann", client.WebSocket)
	waitViewers(t, ann, "ann×I")
	bob := viewersOn(t, url, "groceries", "bob", client.LongPoll)
	waitViewers(t, ann, "ann×I", "bob×I")
	waitViewers(t, bob, "ann×I", "bob×I")
	ann2 := viewersOn(t, url, "groceries", "ann", client.LongPoll)
	waitViewers(t, bob, "ann×II", "bob×I")
	other := viewersOn(t, url, "chores", "carol", client.WebSocket)
	waitViewers(t, other, "carol×I")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ann2.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	waitViewers(t, ann, "ann×I")
}
