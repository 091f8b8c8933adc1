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
// visitor's connection, channel and topic live (testdata/inspector.mjs):
// over the inspector's socket with phx-live-state (bundled here from
// e2e/node_modules and served as the page's module URL), and by polling
// figures.json when the module URL answers 404.
func TestBrowserInspector(t *testing.T) {
	env := browsertest.Find(t)
	bundles := env.Bundle(t, "examples/stdlib/web/counter.js", "examples/stdlib/web/phx-live-state.js")
	for _, c := range []struct{ mode, module string }{
		{"live", "/assets/phx-live-state.js"},
		{"polling", "/assets/no-such-module.js"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			base := startServer(t, config{InspectorPassword: "open sesame", InspectorClientModule: c.module, Bundles: bundles})
			env.Run(t, "testdata/inspector.mjs", map[string]any{
				"base": base, "password": "open sesame", "mode": c.mode, "shots": browsertest.ScreenshotDir(t),
			}, 2*time.Minute)
		})
	}
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
