package main

import (
	"context"
	"testing"
	"time"

	"github.com/seance-go/seance/examples/internal/browsertest"
)

// TestBrowserCounter: two Chromium contexts on one counter count together
// (testdata/counter.mjs).
func TestBrowserCounter(t *testing.T) {
	env := browsertest.Find(t)
	counters := &MemoryCounters{}
	base := startServer(t, config{Counters: counters, Bundles: env.Bundle(t, "examples/stdlib/web/counter.js")})
	env.Run(t, "testdata/counter.mjs", map[string]any{
		"base": base, "name": "together", "shots": browsertest.ScreenshotDir(t),
	}, 2*time.Minute)
	if n, err := counters.Get(context.Background(), "together"); err != nil || n != 11 {
		t.Errorf("count after the run: %d %v, want 11", n, err)
	}
}

// TestBrowserInspector: the inspector page, behind Basic auth, shows a
// visitor's connection and channel live (testdata/inspector.mjs).
func TestBrowserInspector(t *testing.T) {
	env := browsertest.Find(t)
	base := startServer(t, config{InspectorPassword: "open sesame", Bundles: env.Bundle(t, "examples/stdlib/web/counter.js")})
	env.Run(t, "testdata/inspector.mjs", map[string]any{
		"base": base, "password": "open sesame", "shots": browsertest.ScreenshotDir(t),
	}, 2*time.Minute)
}

// TestBrowserLiveInspector: a page using phx-live-state on the inspector's
// LiveState channel updates live, over WebSocket and long-poll
// (testdata/live-inspector.mjs).
func TestBrowserLiveInspector(t *testing.T) {
	env := browsertest.Find(t)
	bundles := env.Bundle(t, "examples/stdlib/web/counter.js", "examples/stdlib/web/inspector.js")
	for _, transport := range []string{"", "longpoll"} {
		base := startServer(t, config{InspectorPassword: "open sesame", Bundles: bundles})
		env.Run(t, "testdata/live-inspector.mjs", map[string]any{
			"base": base, "password": "open sesame", "transport": transport, "shots": browsertest.ScreenshotDir(t),
		}, 2*time.Minute)
	}
}
