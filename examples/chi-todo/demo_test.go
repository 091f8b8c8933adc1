package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/examples/internal/browsertest"
	"github.com/seance-go/seance/examples/internal/wstest"
)

// joinBoard joins a shared list and returns its first state:change.
func joinBoard(t *testing.T, ctx context.Context, c *wstest.Conn, topic, ref string) wstest.Frame {
	t.Helper()
	if reply, err := c.Join(ctx, topic, ref); err != nil || !strings.Contains(string(reply.Payload), `"ok"`) {
		t.Fatalf("join %s: %v %v", topic, reply, err)
	}
	f, err := c.Await(ctx, func(f wstest.Frame) bool { return f.Topic == topic && strings.HasPrefix(f.Event, "state:") })
	if err != nil || f.Event != "state:change" {
		t.Fatalf("want state:change, got %v %v", f, err)
	}
	return f
}

// TestSharedListAgreesOnVersions: the clients of a shared list get the same
// update, with the same version, whoever changed it; the list outlives its
// clients.
func TestSharedListAgreesOnVersions(t *testing.T) {
	s := startServer(t, config{}, "127.0.0.1:0")
	ctx := testContext(t)
	a, b := dial(t, ctx, s.URL), dial(t, ctx, s.URL)
	const topic = "board:versions"
	joinBoard(t, ctx, a, topic, "1")
	joinBoard(t, ctx, b, topic, "1")

	update := func(c *wstest.Conn) wstest.Frame {
		t.Helper()
		f, err := c.Await(ctx, func(f wstest.Frame) bool { return strings.HasPrefix(f.Event, "state:") })
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for i, sender := range []*wstest.Conn{a, b} {
		sender.Push("1", fmt.Sprint(i+2), topic, "lvs_evt:add_item", map[string]string{"text": fmt.Sprintf("item %d", i+1)})
		fa, fb := update(a), update(b)
		want := fmt.Sprintf(`"version":%d`, i+1)
		if fa.String() != fb.String() || !strings.Contains(string(fa.Payload), want) || !strings.Contains(string(fa.Payload), fmt.Sprintf("item %d", i+1)) {
			t.Fatalf("update %d:\n A %v\n B %v\nwant the same frame with %s", i+1, fa, fb, want)
		}
	}

	// A bad item is refused to its sender only, and changes nothing.
	a.Push("1", "9", topic, "lvs_evt:add_item", map[string]string{"text": " "})
	if f, err := a.Await(ctx, func(f wstest.Frame) bool { return f.Event == "error" }); err != nil || !strings.Contains(string(f.Payload), "1 to 80") {
		t.Fatalf("empty item: %v %v", f, err)
	}

	a.Close()
	b.Close()
	// Once both left, the list is kept: a new client gets it back (after
	// the channel noticed the departures).
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := dial(t, ctx, s.URL)
		f := joinBoard(t, ctx, c, topic, "1")
		c.Close()
		if strings.Contains(string(f.Payload), "item 2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the list was not kept: %v", f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPageLinksToTheContactForm(t *testing.T) {
	cfg := config{Addr: "127.0.0.1:0", EmbedAddr: "127.0.0.1:0", Logger: testLogger(), Bundles: fakeBundles}
	ln, embedLn, err := listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() { done <- serve(ctx, a, ln, embedLn) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	_, port, _ := net.SplitHostPort(embedLn.Addr().String())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := fmt.Sprintf(`id="contact-link" href="http://127.0.0.1:%s/"`, port); !strings.Contains(string(body), want) {
		t.Errorf("the page does not link to the contact form (%s):\n%s", want, body)
	}

	// Without the embedding page there is no link.
	b := newTestApp(t, config{})
	if body := do(t, b.handler, "GET", "/", "").Body.String(); strings.Contains(body, "contact-link") {
		t.Error("a link to a contact page that is off")
	}
}

// TestBrowserDemo: two pages agree on the shared list's versions, and the
// frame panel shows the frames and the transport (testdata/demo.mjs).
func TestBrowserDemo(t *testing.T) {
	env := browsertest.Find(t)
	bundles := env.Bundle(t, bundleEntries...)
	shots := browsertest.ScreenshotDir(t)
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			srv := startServer(t, config{Bundles: bundles}, "127.0.0.1:0")
			env.Run(t, "testdata/demo.mjs", map[string]any{
				"base": srv.URL, "transport": transport, "shots": shots,
			}, 2*time.Minute)
		})
	}
}
