package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/seance-go/seance/cors"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// static holds the server's page and, after the web build (make
// contact-form), the bundle static/dist/contact-form.js. page/ holds the
// plain HTML file of the other site.
//
//go:embed static page
var files embed.FS

var pages = template.Must(template.ParseFS(files, "static/*.html"))

// app is the contact server: the socket, the contacts page, the element's
// script.
type app struct {
	reg     *livestate.Registry
	handler http.Handler
	store   *Store
	bundles fs.FS
	log     *slog.Logger
}

func newApp(cfg config, store *Store) (*app, error) {
	a := &app{store: store, bundles: cfg.Bundles, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.bundles == nil {
		a.bundles, _ = fs.Sub(files, "static/dist") // never fails for a valid path
	}
	// The page of another origin embeds <contact-form>: its origin must be
	// allowed to open the socket.
	policy, err := cors.NewPolicy(cors.Options{Origins: cfg.AllowedOrigins, SameOrigin: true})
	if err != nil {
		return nil, err
	}
	a.reg = livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: a.log}, Origin: policy})
	a.reg.Handle(formTopic, livestate.New(func() livestate.Channel[FormState] {
		return formChannel{store: store, log: a.log}
	}, livestate.Options{}))

	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(a.reg))
	mux.HandleFunc("GET /{$}", a.contactsPage)
	mux.HandleFunc("GET /api/contacts", a.listContacts)
	mux.HandleFunc("GET /contact-form.js", a.script)
	a.handler = mux
	return a, nil
}

// contactsPage lists the saved contacts: the server's side of the form.
func (a *app) contactsPage(w http.ResponseWriter, r *http.Request) {
	contacts, err := a.store.List(r.Context())
	if err != nil {
		a.log.Error("listing contacts failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err = pages.ExecuteTemplate(w, "contacts.html", map[string]any{"Contacts": contacts, "Database": a.store.Dialect()})
	if err != nil {
		a.log.Error("contacts page failed", "error", err)
	}
}

func (a *app) listContacts(w http.ResponseWriter, r *http.Request) {
	contacts, err := a.store.List(r.Context())
	if err != nil {
		a.log.Error("listing contacts failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"contacts": contacts})
}

// script serves the element. Other sites load it as a module script, which
// is fetched with CORS.
func (a *app) script(w http.ResponseWriter, r *http.Request) {
	if _, err := fs.Stat(a.bundles, "contact-form.js"); err != nil {
		http.Error(w, "contact-form.js is missing: this binary was built without the web build.\n"+
			"Run `make contact-form` at the repository root (it bundles web/ with esbuild, then runs the server).",
			http.StatusInternalServerError)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, a.bundles, "contact-form.js")
}

// defaultServer is the contact server's address written in page/index.html.
const defaultServer = "http://localhost:4010"

// otherSite serves page/index.html, the plain HTML file of "another site",
// pointing it at the contact server on serverPort of the same host name.
func otherSite(serverPort string) http.Handler {
	plain, _ := files.ReadFile("page/index.html") // embedded: never fails
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		server := url.URL{Scheme: "http", Host: net.JoinHostPort(host, serverPort)}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(bytes.ReplaceAll(plain, []byte(defaultServer), []byte(server.String())))
	})
	return mux
}
