// Package browsertest runs the examples' browser tests: it finds Node,
// Chromium and the npm packages installed in e2e/, bundles the examples'
// JavaScript with esbuild and runs Node scripts that drive headless
// Chromium with playwright-core (see lib.mjs).
//
// A missing tool skips the test, except under CI=true where it fails.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/testenv"
)

// Env locates the tools.
type Env struct {
	Root     string // repository root (holds go.mod)
	Node     string
	Chromium string
	modules  string // e2e/node_modules
}

// Root returns the repository root (the directory of the core module's
// go.mod), found upward from the working directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := findRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// findRoot walks up from dir to the directory holding the core module's
// go.mod (an example may be a module of its own).
func findRoot(dir string) (string, error) {
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(data) == coreModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("browsertest: the go.mod of " + coreModule + " is not above the working directory")
		}
		dir = parent
	}
}

const coreModule = "github.com/seance-go/seance"

// modulePath returns the module path a go.mod declares.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// missing skips t, or fails it under CI=true.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("browsertest: %s (required under CI=true)", msg)
	}
	t.Skipf("browsertest: %s", msg)
}

// npmPackages are the packages the examples' scripts use.
var npmPackages = []string{"playwright-core", "esbuild", "lit", "phx-live-state", "phoenix"}

// Announce prints one loud line, from a TestMain, when the browser tests
// named by suites will be skipped because a tool is missing (see
// testenv.Announce).
func Announce(suites string) {
	dir, err := os.Getwd()
	if err != nil {
		return
	}
	root, err := findRoot(dir)
	if err != nil {
		return
	}
	testenv.Announce(suites, testenv.Missing(filepath.Join(root, "e2e", "node_modules"), chromium(), npmPackages...))
}

// chromium is $CHROMIUM, else /usr/bin/chromium.
func chromium() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

// Find locates node, the npm packages and Chromium ($CHROMIUM, else
// /usr/bin/chromium).
func Find(t testing.TB) *Env {
	t.Helper()
	e := &Env{Root: Root(t)}
	e.modules = filepath.Join(e.Root, "e2e", "node_modules")
	var err error
	if e.Node, err = exec.LookPath("node"); err != nil {
		missing(t, "node not found in PATH")
	}
	for _, pkg := range npmPackages {
		if _, err := os.Stat(filepath.Join(e.modules, pkg, "package.json")); err != nil {
			missing(t, "npm package %s not installed: run npm ci in e2e/", pkg)
		}
	}
	e.Chromium = chromium()
	if _, err := os.Stat(e.Chromium); err != nil {
		missing(t, "chromium not found at %s (apt-get install chromium, or set CHROMIUM)", e.Chromium)
	}
	return e
}

// Bundle builds entry points (paths relative to the repository root) into a
// new temporary directory with the same esbuild options as the Makefile and
// returns it: tests serve the bundles of the current sources, not the ones
// embedded at compile time.
func (e *Env) Bundle(t testing.TB, entries ...string) fs.FS {
	t.Helper()
	out := t.TempDir()
	args := append([]string{"--bundle", "--format=esm", "--minify", "--log-level=warning", "--outdir=" + out}, entries...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.modules, ".bin", "esbuild"), args...)
	cmd.Dir = e.Root
	cmd.Env = append(os.Environ(), "NODE_PATH="+e.modules)
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild %s: %v\n%s", strings.Join(entries, " "), err, outb)
	}
	return os.DirFS(out)
}

// ScreenshotDir returns the directory for the test's screenshots: the one
// named by SEANCE_SCREENSHOTS (created if needed, kept afterwards, to look at
// the pictures), else a temporary one removed with the test.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SEANCE_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// Run runs a Node script (path relative to the test's package) with its
// configuration as JSON in argv[2]; "chromium" is added to cfg. The script's
// output is logged; a non-zero exit or the timeout fails t.
func (e *Env) Run(t testing.TB, script string, cfg map[string]any, timeout time.Duration) {
	t.Helper()
	cfg["chromium"] = e.Chromium
	arg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Node, script, string(arg))
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", script, out)
	if ctx.Err() != nil {
		t.Fatalf("node %s: timed out after %v", script, timeout)
	}
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
}
