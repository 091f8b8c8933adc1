package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seance-go/seance/cmd/seance/testdata/state"
)

// requireNodeModules returns node and the repository's e2e/node_modules
// (absolute), or skips the test — fails it under CI=true, where every tool
// must be installed.
func requireNodeModules(t *testing.T, deps ...string) (node, modules string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI=true, so this is a failure", what)
		}
		t.Skipf("%s; skipping", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	modules, err = filepath.Abs(filepath.Join("..", "..", "e2e", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range deps {
		if _, err := os.Stat(filepath.Join(modules, dep, "package.json")); err != nil {
			missing("e2e/node_modules/" + dep + " is missing (run `npm ci` in e2e/)")
		}
	}
	return node, modules
}

// runIn runs a program in dir and returns its combined output and whether
// it succeeded.
func runIn(t *testing.T, dir, prog string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: %v", prog, strings.Join(args, " "), ctx.Err())
	}
	return string(out), err == nil
}

const tsconfig = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "ES2022",
    "moduleResolution": "bundler",
    "lib": ["ES2022", "DOM"],
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true
  },
  "files": ["board-view.ts", "counter-view.ts", "board-lit.ts", "counter-lit.ts", "values.ts"]
}
`

// writeValues writes what encoding/json makes of zero and filled values of
// the state types as TypeScript constants of the declared types: tsc then
// checks the declarations against encoding/json itself (missing or extra
// properties, null where none is declared, wrong types).
func writeValues(t *testing.T, path string) {
	t.Helper()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	card := &state.Card{ID: 1, Text: "x", Tags: []string{"a"}}
	full := state.Board{
		Title: "t", Columns: []state.Column{{Name: "c", Cards: []*state.Card{card, nil}}, {}},
		Labels: map[string]state.Label{"l": {}}, ByID: map[int]*state.Card{1: card, 2: nil},
		Owner: &state.User{Name: "o"}, Editor: &state.User{}, Updated: now, Deadline: &now,
		Version: 3, Public: true, Secret: "s", Dash: "d", Extra: json.RawMessage(`{"a":[1]}`),
		Score: "1.5", Any: map[string]any{"x": 1}, Matrix: [2][3]float64{{1, 2, 3}}, Raw: []byte("hi"),
		Digest: [4]byte{1, 2, 3, 4}, Server: netip.MustParseAddr("::1"),
		ByAddr: map[netip.Addr]int{netip.MustParseAddr("10.0.0.1"): 1}, Page: state.Page[state.Card]{Items: []state.Card{*card}, More: true},
		Tree: &state.Node{Children: []state.Node{{}}}, Kind: "k", Zero: state.Column{Name: "z"}, Odd: 7,
		Audit: state.Audit{CreatedBy: "me", Title: "hidden"}, Paging: &state.Paging{Cursor: "p"},
		Named: state.Audit{CreatedBy: "a", Title: "b"},
	}
	full.Meta.Views = 2
	var b strings.Builder
	b.WriteString("import type { Board, CardsState, Lobby } from \"./state\";\n")
	for i, v := range []any{state.Board{}, full} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "export const board%d: Board = %s;\n", i, j)
	}
	for i, v := range []state.Lobby{nil, {}, {{Name: "u"}}} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "export const lobby%d: Lobby = %s;\n", i, j)
	}
	for i, v := range [][]state.Card{nil, {*card}} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "export const cards%d: CardsState = %s;\n", i, j)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestElementTypeChecksAgainstTypes: tsc --noEmit accepts the generated
// elements with the declarations gen types wrote for the Go state, and
// encoding/json's output for values of the state as those types, and
// rejects the element once the state loses a field it renders; esbuild
// bundles the element with the printed bundling line's flags.
func TestElementTypeChecksAgainstTypes(t *testing.T) {
	node, modules := requireNodeModules(t, "typescript", "phx-live-state", "phoenix", "esbuild", "lit")
	dir := t.TempDir()
	here := cwd(t)
	mustSeance(t, here, "gen", "types", "-o", filepath.Join(dir, "state.ts"), "./testdata/state")
	mustSeance(t, here, "gen", "element", "-dir", dir, "-pkg", "./testdata/state", "-state", "Board", "board-view")
	mustSeance(t, dir, "gen", "element", "counter-view")
	mustSeance(t, here, "gen", "element", "-lit", "-dir", dir, "-pkg", "./testdata/state", "-state", "Board", "board-lit")
	mustSeance(t, dir, "gen", "element", "-lit", "counter-lit")
	writeValues(t, filepath.Join(dir, "values.ts"))
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), []byte(tsconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tsc := filepath.Join(modules, "typescript", "bin", "tsc")
	if out, ok := runIn(t, dir, node, tsc, "--noEmit", "-p", "."); !ok {
		t.Fatalf("tsc --noEmit rejects the generated elements or encoding/json's values:\n%s", out)
	}

	// The Go field behind "title" is renamed: the element no longer checks.
	statePath := filepath.Join(dir, "state.ts")
	ts := string(readFile(t, statePath))
	renamed := strings.Replace(ts, "  title: string;\n", "  heading: string;\n", 1)
	if renamed == ts {
		t.Fatal("state.ts has no title field")
	}
	if err := os.WriteFile(statePath, []byte(renamed), 0o644); err != nil {
		t.Fatal(err)
	}
	out, ok := runIn(t, dir, node, tsc, "--noEmit", "-p", ".")
	if ok || strings.Count(out, "Property 'title' does not exist on type 'Board'") != 2 {
		t.Fatalf("tsc accepted an element that renders a field the state lacks (ok=%v):\n%s", ok, out)
	}

	esbuild := filepath.Join(modules, ".bin", "esbuild")
	for _, tag := range []string{"counter-view", "counter-lit"} {
		bundle := filepath.Join(dir, "static", tag+".js")
		if out, ok := runIn(t, dir, esbuild, tag+".ts", "--bundle", "--format=esm", "--minify",
			"--outfile="+bundle, "--log-level=warning"); !ok {
			t.Fatalf("esbuild: %s", out)
		}
		if js := string(readFile(t, bundle)); !strings.Contains(js, tag) || !strings.Contains(js, "lvs_evt:") {
			t.Fatalf("the bundle lacks the element or phx-live-state (%d bytes)", len(js))
		}
	}
}
