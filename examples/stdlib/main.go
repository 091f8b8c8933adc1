// Command stdlib is a shared counter served with net/http alone: no router
// library, just http.ServeMux patterns. Every browser on /counters/<name>
// (or / for "default") sees and changes the same count.
//
//	go run ./examples/stdlib -addr :4002    # after the web build (make demo builds it too)
//
// Flags (environment variables in brackets):
//
//	-addr  address to listen on (ADDR, default :4002)
//	-inspector-password  serves the live inspector at /seance/inspector/ to
//	       the Basic-auth user "admin" with this password (INSPECTOR_PASSWORD;
//	       default none: no inspector)
package main

import (
	"cmp"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seance-go/seance/inspector"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// static holds the page and, after the web build, static/dist/counter.js.
//
//go:embed static
var static embed.FS

var page = template.Must(template.ParseFS(static, "static/index.html"))

type config struct {
	Addr     string
	Logger   *slog.Logger
	Counters Counters // nil: a new MemoryCounters
	Bundles  fs.FS    // nil: the bundles embedded at build time
	// InspectorPassword, when set, mounts the inspector at
	// /seance/inspector/ for the Basic-auth user "admin".
	InspectorPassword string
	// InspectorClientModule is the URL the inspector's page loads
	// phx-live-state from (default /assets/phx-live-state.js, this
	// server's own bundle of it).
	InspectorClientModule string
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	cfg.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Error("stdlib failed", "error", err)
		os.Exit(1)
	}
}

// parseConfig reads the flags, with ADDR (when not empty) as the default.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	addr := ":4002"
	if v := getenv("ADDR"); v != "" {
		addr = v
	}
	fset := flag.NewFlagSet("stdlib", flag.ContinueOnError)
	fset.SetOutput(out)
	var cfg config
	fset.StringVar(&cfg.Addr, "addr", addr, "`host:port` to listen on (env ADDR)")
	fset.StringVar(&cfg.InspectorPassword, "inspector-password", getenv("INSPECTOR_PASSWORD"), "serve the inspector at /seance/inspector/ to user admin with this `password` (env INSPECTOR_PASSWORD)")
	if err := fset.Parse(args); err != nil {
		return config{}, err
	}
	if fset.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %q", fset.Args())
		fmt.Fprintln(out, err)
		return config{}, err
	}
	return cfg, nil
}

// run serves on cfg.Addr until ctx ends.
func run(ctx context.Context, cfg config) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	reg, h, in := newServer(cfg)
	return serve(ctx, ln, reg, h, in, cfg.Logger)
}

// newServer builds the registry and the routes, and the inspector when
// cfg.InspectorPassword is set (nil otherwise).
func newServer(cfg config) (*livestate.Registry, http.Handler, *inspector.Inspector) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	counters := cfg.Counters
	if counters == nil {
		counters = &MemoryCounters{}
	}
	bundles := cfg.Bundles
	if bundles == nil {
		bundles, _ = fs.Sub(static, "static/dist") // never fails for a valid path
	}

	var in *inspector.Inspector
	engine := phx.Config{Logger: log}
	if pw := cfg.InspectorPassword; pw != "" {
		in = inspector.New(inspector.Options{
			Authorize: func(r *http.Request) error {
				user, got, ok := r.BasicAuth()
				if !ok || user != "admin" || subtle.ConstantTimeCompare([]byte(got), []byte(pw)) != 1 {
					return errors.New("not the inspector's admin")
				}
				return nil
			},
			// The page's phx-live-state, from this server's bundle
			// (web/phx-live-state.js) rather than a CDN.
			ClientModuleURL: cmp.Or(cfg.InspectorClientModule, "/assets/phx-live-state.js"),
			Engine:          phx.Config{Logger: log},
		})
		engine.Observer = in.Observer()
	}
	reg := livestate.NewRegistry(livestate.Config{Engine: engine})
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[CounterState] {
		return &counterChannel{counters: counters}
	}, livestate.Options{}))

	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	if in != nil {
		in.Watch(reg.Endpoint())
		// The browser asks for the Basic-auth password on a 401.
		mux.Handle("/seance/inspector/", basicAuthChallenge(http.StripPrefix("/seance/inspector", in)))
		// The same figures live, through phx-live-state (web/inspector.js).
		mux.Handle("GET /seance/live-inspector", basicAuthChallenge(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, _, ok := r.BasicAuth(); !ok || in.Authorize(r) != nil {
				http.Error(w, "Forbidden", http.StatusForbidden)
				return
			}
			http.ServeFileFS(w, r, static, "static/inspector.html")
		})))
		mux.HandleFunc("GET /assets/inspector.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, bundles, "inspector.js")
		})
		mux.HandleFunc("GET /assets/phx-live-state.js", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, bundles, "phx-live-state.js")
		})
	}
	showPage := func(w http.ResponseWriter, name string) {
		if err := checkName(name); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		if _, err := fs.Stat(bundles, "counter.js"); err != nil {
			http.Error(w, "The JavaScript bundle counter.js is missing: this binary was built without the web build.\n"+
				"Run `make demo` (it bundles examples/stdlib/web with esbuild), then go run ./examples/stdlib.", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, map[string]string{"Name": name}); err != nil {
			log.Error("page failed", "error", err)
		}
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { showPage(w, "default") })
	mux.HandleFunc("GET /counters/{name}", func(w http.ResponseWriter, r *http.Request) { showPage(w, r.PathValue("name")) })
	mux.HandleFunc("GET /assets/counter.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, bundles, "counter.js")
	})
	mux.HandleFunc("GET /api/counters/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		w.Header().Set("Content-Type", "application/json")
		if err := checkName(name); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		n, err := counters.Get(r.Context(), name)
		if err != nil {
			log.Error("counter store failed", "error", err)
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": "internal error"})
			return
		}
		json.NewEncoder(w).Encode(CounterState{Count: n})
	})
	return reg, mux, in
}

// basicAuthChallenge asks for credentials when a request carries none.
func basicAuthChallenge(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="Seance inspector"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serve serves h on ln until ctx ends, then closes the socket's connections
// and drains the HTTP server.
func serve(ctx context.Context, ln net.Listener, reg *livestate.Registry, h http.Handler, in *inspector.Inspector, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("counter listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(reg.Shutdown(sctx), srv.Shutdown(sctx))
	if in != nil {
		err = errors.Join(err, in.Shutdown(sctx))
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
