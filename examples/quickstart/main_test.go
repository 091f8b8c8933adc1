package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/examples/internal/browsertest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	browsertest.Announce("examples/quickstart TestBrowserPage (the Quickstart's page in Chromium)")
	goleak.VerifyTestMain(m)
}

func TestServesThePage(t *testing.T) {
	srv := httptest.NewServer(newHandler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), "/socket/websocket?vsn=2.0.0") {
		t.Errorf("GET /: %d %.200s", res.StatusCode, body)
	}
}

// TestBrowserPage runs the page, which speaks the wire by hand, in Chromium
// (testdata/page.mjs).
func TestBrowserPage(t *testing.T) {
	env := browsertest.Find(t)
	srv := httptest.NewServer(newHandler())
	defer srv.Close()
	env.Run(t, "testdata/page.mjs", map[string]any{"base": srv.URL, "shots": browsertest.ScreenshotDir(t)}, 2*time.Minute)
}
