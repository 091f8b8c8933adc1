// Command contact-form is the seed tutorial as an example: an embeddable
// <contact-form> (name, email, phone) that a plain HTML page of another
// origin loads with one script tag, saving contacts in a real database —
// SQLite in a file by default (pure Go, nothing to install), PostgreSQL when
// DATABASE_URL is set. What the store refuses (a bad field, an email already
// saved) is shown beside the field.
//
//	make contact-form                 # at the repository root: bundles web/, then runs this
//	DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make contact-form
//
// Flags (environment variables in brackets):
//
//	-addr             the contact server (ADDR, default :4010): the socket, /contact-form.js,
//	                  and the saved contacts at / and /api/contacts
//	-page-addr        serves page/index.html, the plain page of "another site" embedding the
//	                  form ("" turns it off) (PAGE_ADDR, default :4011)
//	-allowed-origins  comma-separated origins that may open the socket besides the server's own,
//	                  added to http://localhost:4011,http://127.0.0.1:4011 (ALLOWED_ORIGINS)
//	-db               the SQLite file (SQLITE_PATH, default contacts.db)
//	DATABASE_URL      a PostgreSQL URL: used instead of SQLite when set
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

// config is what main reads from flags and the environment.
type config struct {
	Addr           string
	PageAddr       string
	AllowedOrigins []string
	DatabaseURL    string
	SQLitePath     string

	Logger  *slog.Logger
	Bundles fs.FS // nil: the bundle embedded at build time
}

// defaultOrigins are those of the default -page-addr.
var defaultOrigins = []string{"http://localhost:4011", "http://127.0.0.1:4011"}

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
		log.Error("contact-form failed", "error", err)
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
	fset := flag.NewFlagSet("contact-form", flag.ContinueOnError)
	fset.SetOutput(out)
	cfg := config{DatabaseURL: getenv("DATABASE_URL")}
	var origins string
	fset.StringVar(&cfg.Addr, "addr", env("ADDR", ":4010"), "address of the contact server `host:port` (env ADDR)")
	fset.StringVar(&cfg.PageAddr, "page-addr", env("PAGE_ADDR", ":4011"), "address of the plain page embedding the form; empty turns it off (env PAGE_ADDR)")
	fset.StringVar(&origins, "allowed-origins", getenv("ALLOWED_ORIGINS"), "comma-separated `origins` allowed besides the server's own and the default page's (env ALLOWED_ORIGINS)")
	fset.StringVar(&cfg.SQLitePath, "db", env("SQLITE_PATH", "contacts.db"), "the SQLite `file`, unless DATABASE_URL is set (env SQLITE_PATH)")
	if err := fset.Parse(args); err != nil {
		return config{}, err
	}
	if fset.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %q", fset.Args())
		fmt.Fprintln(out, err)
		return config{}, err
	}
	cfg.AllowedOrigins = append(cfg.AllowedOrigins, defaultOrigins...)
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}
	return cfg, nil
}

// run opens the store, listens and serves until ctx ends.
func run(ctx context.Context, cfg config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	store, err := OpenStore(ctx, cfg.DatabaseURL, cfg.SQLitePath)
	if err != nil {
		return err
	}
	defer store.Close()
	if store.Dialect() == "sqlite" {
		cfg.Logger.Info("contacts in SQLite (set DATABASE_URL for PostgreSQL)", "file", cfg.SQLitePath)
	} else {
		cfg.Logger.Info("contacts in PostgreSQL")
	}
	a, err := newApp(cfg, store)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	var pageLn net.Listener
	if cfg.PageAddr != "" {
		if pageLn, err = net.Listen("tcp", cfg.PageAddr); err != nil {
			ln.Close()
			return err
		}
	}
	return serve(ctx, a, ln, pageLn)
}

// serve serves the app on ln and the other site on pageLn (if not nil)
// until ctx ends, then shuts down: sockets first, then the HTTP servers.
func serve(ctx context.Context, a *app, ln, pageLn net.Listener) error {
	servers := []*http.Server{newHTTPServer(a.handler, a.log)}
	listeners := []net.Listener{ln}
	a.log.Info("contact server listening", "url", "http://"+displayAddr(ln)+"/")
	if pageLn != nil {
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		servers = append(servers, newHTTPServer(otherSite(port), a.log))
		listeners = append(listeners, pageLn)
		a.log.Info("another site embedding <contact-form>", "url", "http://"+displayAddr(pageLn)+"/")
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
	case err = <-errc:
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

// displayAddr turns ":4010" into "localhost:4010".
func displayAddr(ln net.Listener) string {
	a := ln.Addr().(*net.TCPAddr)
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(a.Port))
	}
	return a.String()
}
