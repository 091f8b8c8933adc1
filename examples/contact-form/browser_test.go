package main

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seance-go/seance/examples/internal/browsertest"
)

// TestBrowserContactForm embeds <contact-form> in the plain page on another
// origin (testdata/contact.mjs) with each database: invalid input shows the
// store's errors, a valid contact is saved and listed on the server's page,
// and the database refuses the same email twice.
func TestBrowserContactForm(t *testing.T) {
	env := browsertest.Find(t)
	bundles := env.Bundle(t, "examples/contact-form/web/contact-form.js")
	shots := browsertest.ScreenshotDir(t)
	for _, db := range stores {
		t.Run(db.name, func(t *testing.T) {
			store := db.open(t)
			page := httptest.NewUnstartedServer(nil)
			base := startServer(t, config{Bundles: bundles, AllowedOrigins: []string{"http://" + page.Listener.Addr().String()}}, store)
			_, port, err := net.SplitHostPort(base[len("http://"):])
			if err != nil {
				t.Fatal(err)
			}
			page.Config.Handler = otherSite(port)
			page.Start()
			defer page.Close()

			env.Run(t, "testdata/contact.mjs", map[string]any{
				"page": page.URL + "/", "server": base + "/", "db": db.name, "shots": shots,
			}, 2*time.Minute)

			got, err := store.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Name != "Ada Lovelace" || got[0].Email != "ada@example.com" || got[0].Phone != "+44 20 7946 0000" {
				t.Errorf("contacts in %s after the run: %+v", db.name, got)
			}
		})
	}
}
