package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/seance-go/seance/cors"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// static holds the committed pages and, after the web build (make demo),
// the JavaScript bundles under static/dist.
//
//go:embed static
var static embed.FS

var pages = template.Must(template.ParseFS(static, "static/*.html"))

// app is the todo server: its HTTP handler and the LiveState registry behind
// the socket.
type app struct {
	reg      *livestate.Registry
	handler  http.Handler
	todos    *Todos
	contacts ContactStore
	bundles  fs.FS
	log      *slog.Logger

	embedPort string // port of the embedding page, set by serve; "" when off
}

// newApp wires the stores, the socket and the routes. cfg.Todos,
// cfg.Contacts and cfg.Bundles default to in-memory stores and the
// embedded bundles.
func newApp(cfg config) (*app, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	a := &app{contacts: cfg.Contacts, bundles: cfg.Bundles, log: log}
	if a.contacts == nil {
		a.contacts = &MemoryContacts{}
	}
	if a.bundles == nil {
		a.bundles, _ = fs.Sub(static, "static/dist") // never fails for a valid path
	}
	store := cfg.Todos
	if store == nil {
		store = &MemoryStore{}
	}

	// Pages of this server and the listed origins (which embed
	// <contact-form>) may open the socket, over WebSocket and long-poll.
	// Another port of the same host is another origin.
	policy, err := cors.NewPolicy(cors.Options{Origins: cfg.AllowedOrigins, SameOrigin: true})
	if err != nil {
		return nil, err
	}
	a.reg = livestate.NewRegistry(livestate.Config{
		Engine: phx.Config{Logger: log},
		Origin: policy,
	})
	a.todos = &Todos{Store: store, Changed: func(ctx context.Context, list string) {
		if _, err := a.reg.Broadcast(ctx, todoTopic(list), changedEvent, nil); err != nil {
			log.Error("broadcast failed", "list", list, "error", err)
		}
	}}
	a.reg.Handle("todo:*", livestate.New(func() livestate.Channel[TodoState] {
		return &todoChannel{todos: a.todos, log: log}
	}, livestate.Options{}))
	registerViewers(a.reg, log) // who is viewing each list (presence.go)
	a.reg.Handle(contactTopic, livestate.New(func() livestate.Channel[ContactFormState] {
		return &contactChannel{store: a.contacts, log: log, now: time.Now}
	}, livestate.Options{}))
	// The demo's shared list (board.go): one state for all its clients.
	a.reg.Handle("board:*", livestate.NewShared[BoardState](&boardChannel{}, livestate.Options{}))

	r := chi.NewRouter()
	r.Mount("/socket", livestate.Handler(a.reg))
	r.Get("/", a.page("default"))
	r.Get("/lists/{list}", func(w http.ResponseWriter, r *http.Request) {
		a.page(chi.URLParam(r, "list"))(w, r)
	})
	r.Get("/assets/todo-app.js", a.bundle("todo-app.js", false))
	r.Get("/assets/demo-panel.js", a.bundle("demo-panel.js", false))
	r.Get("/contact-form.js", a.bundle("contact-form.js", true))
	r.Route("/api", func(r chi.Router) {
		r.Get("/lists/{list}/todos", a.listTodos)
		r.Post("/lists/{list}/todos", a.addTodo)
		r.Delete("/lists/{list}/todos/{id}", a.deleteTodo)
		r.Get("/contacts", a.listContacts)
	})
	a.handler = r
	return a, nil
}

// page renders the todo page of a list.
func (a *app) page(list string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkList(list); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if !a.haveBundle(w, "todo-app.js") {
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := pages.ExecuteTemplate(w, "index.html", map[string]string{"List": list, "ContactURL": a.contactURL(r)}); err != nil {
			a.log.Error("page failed", "error", err)
		}
	}
}

// bundle serves a JavaScript bundle. The contact form's script is loaded by
// other sites' pages, and module scripts are fetched with CORS.
func (a *app) bundle(name string, public bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.haveBundle(w, name) {
			return
		}
		if public {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, a.bundles, name)
	}
}

func (a *app) haveBundle(w http.ResponseWriter, name string) bool {
	if _, err := fs.Stat(a.bundles, name); err != nil {
		http.Error(w, fmt.Sprintf("The JavaScript bundle %s is missing: this binary was built without the web build.\n"+
			"Run `make demo` (it bundles examples/chi-todo/web with esbuild, then runs the server).", name),
			http.StatusInternalServerError)
		return false
	}
	return true
}

// maxBody bounds REST request bodies.
const maxBody = 64 << 10

func (a *app) listTodos(w http.ResponseWriter, r *http.Request) {
	todos, err := a.todos.List(r.Context(), chi.URLParam(r, "list"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TodoState{Todos: todos})
}

func (a *app) addTodo(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title *string `json:"title"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, err)
		return
	}
	if in.Title == nil {
		a.fail(w, &InputError{`the body needs a "title"`})
		return
	}
	list := chi.URLParam(r, "list")
	todo, err := a.todos.Add(r.Context(), list, *in.Title)
	if err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Location", "/api/lists/"+list+"/todos/"+todo.ID)
	writeJSON(w, http.StatusCreated, todo)
}

func (a *app) deleteTodo(w http.ResponseWriter, r *http.Request) {
	if err := a.todos.Delete(r.Context(), chi.URLParam(r, "list"), chi.URLParam(r, "id")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *app) listContacts(w http.ResponseWriter, r *http.Request) {
	contacts, err := a.contacts.Contacts(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	if contacts == nil {
		contacts = []Contact{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": contacts})
}

// decodeBody reads one JSON object; errors are InputErrors.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return &InputError{"the body must be a JSON object: " + err.Error()}
	}
	if dec.More() {
		return &InputError{"the body must hold one JSON object"}
	}
	return nil
}

// fail writes {"error": message} with 400, 404 or 500.
func (a *app) fail(w http.ResponseWriter, err error) {
	var in *InputError
	switch {
	case errors.As(err, &in):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": in.Msg})
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	default:
		a.log.Error("request failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// embedHandler serves the "other site": a plain HTML page that loads
// <contact-form> from the todo server on serverPort of the same host name.
func embedHandler(serverPort string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		server := url.URL{Scheme: "http", Host: net.JoinHostPort(host, serverPort)}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err = pages.ExecuteTemplate(w, "embed.html", map[string]string{
			"Server":    server.String(),
			"Transport": r.URL.Query().Get("transport"),
		})
		if err != nil {
			log.Error("embed page failed", "error", err)
		}
	})
	return mux
}
