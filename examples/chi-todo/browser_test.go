package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/examples/internal/browsertest"
)

// bundleEntries are the esbuild entry points of this example, relative to
// the repository root (the same as in the Makefile).
var bundleEntries = []string{"examples/chi-todo/web/todo-app.js", "examples/chi-todo/web/contact-form.js", "examples/chi-todo/web/demo-panel.js"}

var transports = []string{"websocket", "longpoll"}

// TestBrowserTodos drives two Chromium contexts on one list (see
// testdata/todo.mjs), with a REST change and a server restart in between.
func TestBrowserTodos(t *testing.T) {
	env := browsertest.Find(t)
	bundles := env.Bundle(t, bundleEntries...)
	shots := browsertest.ScreenshotDir(t)
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			store := &MemoryStore{}
			cfg := config{Todos: store, Bundles: bundles}
			var mu sync.Mutex
			srv := startServer(t, cfg, "127.0.0.1:0")

			// The script asks for the restart: stop the server, change the
			// store while it is down, start a new server on the same port.
			control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if err := srv.Stop(); err != nil {
					http.Error(w, "stop: "+err.Error(), 500)
					return
				}
				if _, err := store.Add(r.Context(), "groceries", "Added while restarting"); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				srv = startServer(t, cfg, srv.Addr)
			}))
			defer control.Close()

			env.Run(t, "testdata/todo.mjs", map[string]any{
				"base": srv.URL, "list": "groceries", "transport": transport,
				"control": control.URL, "shots": shots,
			}, 3*time.Minute)

			// What the pages showed is what the store holds.
			todos, err := store.List(context.Background(), "groceries")
			if err != nil {
				t.Fatal(err)
			}
			want := []Todo{{Title: "Call Ada"}, {Title: "From REST", Done: true}, {Title: "Added while restarting"}, {Title: "After the restart"}}
			if diff := cmp.Diff(want, todos, cmp.Transformer("noID", func(t Todo) Todo { t.ID = ""; return t })); diff != "" {
				t.Errorf("store after the run (-want +got):\n%s", diff)
			}
			if transport == "websocket" {
				updateScreenshot(t, filepath.Join(shots, "todo-websocket.png"))
			}
		})
	}
}

// updateScreenshot copies the README's screenshot when
// SEANCE_UPDATE_SCREENSHOTS=1.
func updateScreenshot(t *testing.T, src string) {
	if os.Getenv("SEANCE_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("screenshot.png", data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated screenshot.png from %s", src)
}

// TestBrowserContactForm embeds <contact-form> in pages of two other
// origins: the allowed one sends a message, the other is refused.
func TestBrowserContactForm(t *testing.T) {
	env := browsertest.Find(t)
	bundles := env.Bundle(t, bundleEntries...)
	shots := browsertest.ScreenshotDir(t)
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			// The embedding pages are the example's own embed server, on
			// two ports: two origins, only the first allowed.
			allowed, denied := httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)
			allowedOrigin := "http://" + allowed.Listener.Addr().String()
			contacts := &MemoryContacts{}
			srv := startServer(t, config{Contacts: contacts, Bundles: bundles, AllowedOrigins: []string{allowedOrigin}}, "127.0.0.1:0")
			_, port, err := net.SplitHostPort(srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*httptest.Server{allowed, denied} {
				s.Config.Handler = embedHandler(port, testLogger())
				s.Start()
				defer s.Close()
			}

			env.Run(t, "testdata/contact.mjs", map[string]any{
				"allowed": allowed.URL + "/", "denied": denied.URL + "/", "api": srv.URL + "/api/contacts",
				"transport": transport, "shots": shots,
			}, 2*time.Minute)

			got, err := contacts.Contacts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Name != "Ada Lovelace" || got[0].Email != "ada@example.com" {
				t.Errorf("contacts after the run: %+v", got)
			}
		})
	}
}
