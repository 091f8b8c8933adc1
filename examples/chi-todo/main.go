// Command chi-todo is Seance's demo: shared todo lists synced live to every
// browser with LiveState over a chi router, a REST API next to the socket,
// and an embeddable <contact-form> used from another origin.
//
//	make demo                       # builds the JavaScript, then go run ./examples/chi-todo
//	go run ./examples/chi-todo -addr :8080 -embed-addr "" -allowed-origins https://example.com
//
// Flags (environment variables in brackets):
//
//	-addr             todo app address (ADDR, default :4000)
//	-embed-addr       address of the plain "other site" page embedding <contact-form>
//	                  ("" turns it off) (EMBED_ADDR, default :4001)
//	-allowed-origins  comma-separated origins allowed to open the socket, added to the
//	                  app's own and the embedding page's (http://localhost:4001 and
//	                  http://127.0.0.1:4001 by default) (ALLOWED_ORIGINS)
//
// make demo passes these variables through: make demo ADDR=:8000 EMBED_ADDR=:8001.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what main reads from flags and the environment, plus what tests
// swap in.
type config struct {
	Addr           string
	EmbedAddr      string
	AllowedOrigins []string

	Logger   *slog.Logger
	Todos    Store        // nil: a new MemoryStore
	Contacts ContactStore // nil: a new MemoryContacts
	Bundles  fs.FS        // nil: the bundles embedded at build time
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		os.Exit(2) // flag has printed the problem and the usage
	}
	cfg.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Error("chi-todo failed", "error", err)
		os.Exit(1)
	}
}

// parseConfig reads flags, with environment variables (empty counts as
// unset) as defaults.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fset := flag.NewFlagSet("chi-todo", flag.ContinueOnError)
	fset.SetOutput(out)
	var cfg config
	var origins string
	fset.StringVar(&cfg.Addr, "addr", env("ADDR", ":4000"), "address of the todo app `host:port` (env ADDR)")
	fset.StringVar(&cfg.EmbedAddr, "embed-addr", env("EMBED_ADDR", ":4001"), "address of the page embedding <contact-form> from another origin; empty turns it off (env EMBED_ADDR)")
	fset.StringVar(&origins, "allowed-origins", getenv("ALLOWED_ORIGINS"),
		"comma-separated `origins` that may open the socket besides the app's own and the embedding page's (env ALLOWED_ORIGINS)")
	if err := fset.Parse(args); err != nil {
		return config{}, err
	}
	if fset.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %q", fset.Args())
		fmt.Fprintln(out, err)
		return config{}, err
	}
	cfg.AllowedOrigins = embedOrigins(cfg.EmbedAddr)
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, strings.TrimSuffix(o, "/"))
		}
	}
	return cfg, nil
}

// run listens on cfg's addresses and serves until ctx ends.
func run(ctx context.Context, cfg config) error {
	ln, embedLn, err := listen(cfg)
	if err != nil {
		return err
	}
	a, err := newApp(cfg)
	if err != nil {
		return err
	}
	return serve(ctx, a, ln, embedLn)
}

// listen opens cfg.Addr and, unless it is empty, cfg.EmbedAddr.
func listen(cfg config) (ln, embedLn net.Listener, err error) {
	if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, nil, err
	}
	if cfg.EmbedAddr != "" {
		if embedLn, err = net.Listen("tcp", cfg.EmbedAddr); err != nil {
			ln.Close()
			return nil, nil, err
		}
	}
	return ln, embedLn, nil
}

// serve serves the app on ln (and the embedding page on embedLn, if not nil)
// until ctx ends, then shuts down gracefully: the socket's connections are
// closed (clients reconnect), then the HTTP servers drain.
func serve(ctx context.Context, a *app, ln, embedLn net.Listener) error {
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	servers := []*http.Server{newHTTPServer(a.handler, a.log)}
	listeners := []net.Listener{ln}
	a.log.Info("todo app listening", "url", "http://"+displayAddr(ln)+"/")
	if embedLn != nil {
		a.embedPort = strconv.Itoa(embedLn.Addr().(*net.TCPAddr).Port)
		servers = append(servers, newHTTPServer(embedHandler(port, a.log), a.log))
		listeners = append(listeners, embedLn)
		a.log.Info("contact form embedded from another origin", "url", "http://"+displayAddr(embedLn)+"/")
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}

	var err error
	done := 0
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case err = <-errc: // a server failed: stop the others
		done++
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := []error{err, a.reg.Shutdown(sctx)}
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	for ; done < len(servers); done++ {
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// displayAddr turns ":4000" into "localhost:4000".
func displayAddr(ln net.Listener) string {
	a := ln.Addr().(*net.TCPAddr)
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(a.Port))
	}
	return a.String()
}
