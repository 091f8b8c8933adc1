package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seance runs the command line in dir and returns its exit code and output.
func seance(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), &env{dir: dir, stdout: &out, stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

// mustSeance runs the command line and fails the test unless it succeeds.
func mustSeance(t *testing.T, dir string, args ...string) string {
	t.Helper()
	code, stdout, stderr := seance(t, dir, args...)
	if code != 0 {
		t.Fatalf("seance %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, d)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cwd(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGenTypesGolden(t *testing.T) {
	// The channels of testdata/state: Board (Channel) and Lobby
	// (SharedChannel), and every type they reach.
	golden(t, "state.ts", []byte(mustSeance(t, cwd(t), "gen", "types", "./testdata/state")))
	// Named types, written to a file.
	out := filepath.Join(t.TempDir(), "picked.ts")
	mustSeance(t, cwd(t), "gen", "types", "-type", "Card, Kind", "-o", out, "./testdata/state")
	golden(t, "picked.ts", readFile(t, out))
}

func TestGenChannelGolden(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.go"), []byte("package shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout := mustSeance(t, dir, "gen", "channel", "shoppingCart")
	if !strings.Contains(stdout, "HandleShoppingCart(reg)") {
		t.Errorf("the printed next step does not name the register function:\n%s", stdout)
	}
	golden(t, "shopping_cart_channel.go", readFile(t, filepath.Join(dir, "shopping_cart_channel.go")))
	golden(t, "shopping_cart_channel_test.go", readFile(t, filepath.Join(dir, "shopping_cart_channel_test.go")))

	mustSeance(t, dir, "gen", "channel", "-shared", "lobby")
	golden(t, "lobby_channel.go", readFile(t, filepath.Join(dir, "lobby_channel.go")))
	golden(t, "lobby_channel_test.go", readFile(t, filepath.Join(dir, "lobby_channel_test.go")))
}

func TestGenElementGolden(t *testing.T) {
	dir := t.TempDir()
	stdout := mustSeance(t, dir, "gen", "element", "counter-view")
	if want := "npx esbuild counter-view.ts --bundle --format=esm --minify --outfile=static/counter-view.js"; !strings.Contains(stdout, want) {
		t.Errorf("the bundling line %q is not printed:\n%s", want, stdout)
	}
	golden(t, "counter-view.ts", readFile(t, filepath.Join(dir, "counter-view.ts")))

	stdout = mustSeance(t, cwd(t), "gen", "element", "-dir", dir, "-pkg", "./testdata/state", "-state", "Board",
		"-topic", "board:lobby", "-url", "wss://example.com/socket", "board-view")
	if !strings.Contains(stdout, "gen types -o "+filepath.Join(dir, "state.ts")) {
		t.Errorf("the gen types line is not printed:\n%s", stdout)
	}
	golden(t, "board-view.ts", readFile(t, filepath.Join(dir, "board-view.ts")))

	stdout = mustSeance(t, dir, "gen", "element", "-lit", "counter-lit")
	if !strings.Contains(stdout, "npm install lit phx-live-state phoenix esbuild") {
		t.Errorf("the install line does not name lit:\n%s", stdout)
	}
	golden(t, "counter-lit.ts", readFile(t, filepath.Join(dir, "counter-lit.ts")))
	mustSeance(t, cwd(t), "gen", "element", "-lit", "-dir", dir, "-pkg", "./testdata/state", "-state", "Board", "board-lit")
	golden(t, "board-lit.ts", readFile(t, filepath.Join(dir, "board-lit.ts")))
}

func TestNameSpellings(t *testing.T) {
	for in, want := range map[string]name{
		"counter":      {"Counter", "counter"},
		"todo_list":    {"TodoList", "todo_list"},
		"todo-list":    {"TodoList", "todo_list"},
		"todoList":     {"TodoList", "todo_list"},
		"TodoList":     {"TodoList", "todo_list"},
		"board-view-2": {"BoardView2", "board_view_2"},
	} {
		got, err := parseName(in)
		if err != nil || got != want {
			t.Errorf("parseName(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "counter_channel.go"), []byte("package app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "Usage: seance gen"},
		{[]string{"-h"}, 0, "Usage: seance gen"},
		{[]string{"build"}, 2, `unknown command "build"`},
		{[]string{"gen"}, 2, "what to generate?"},
		{[]string{"gen", "widget"}, 2, `unknown generator "widget"`},
		{[]string{"gen", "channel"}, 2, "name the channel"},
		{[]string{"gen", "channel", "-h"}, 0, "Usage: seance gen channel"},
		{[]string{"gen", "channel", "-nope", "x"}, 2, "flag provided but not defined: -nope"},
		{[]string{"gen", "channel", "9lives"}, 2, "must start with a letter"},
		{[]string{"gen", "channel", "café"}, 2, "use ASCII letters"},
		{[]string{"gen", "channel", "counter"}, 1, "counter_channel.go exists; pass -f"},
		{[]string{"gen", "channel", "-dir", "nowhere", "x"}, 1, "is not a directory"},
		{[]string{"gen", "element", "counter"}, 2, "contains a dash"},
		{[]string{"gen", "element", "Counter-View"}, 2, "starts with a lowercase letter"},
		{[]string{"gen", "element", "font-face"}, 2, "reserved"},
		{[]string{"gen", "element", "-state", "Nope", "-pkg", filepath.Join(cwd(t), "testdata", "state"), "x-y"}, 1, "has no type Nope"},
		{[]string{"gen", "types", "a", "b"}, 2, "at most one package"},
		{[]string{"gen", "types", "./nowhere"}, 1, "go list"},
		{[]string{"gen", "types", "-type", "Nope", filepath.Join(cwd(t), "testdata", "state")}, 1, "has no type Nope"},
	} {
		code, _, stderr := seance(t, dir, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("seance %q: exit %d, stderr:\n%s\nwant exit %d and %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	// Nothing was overwritten.
	if got := string(readFile(t, filepath.Join(dir, "counter_channel.go"))); got != "package app\n" {
		t.Errorf("counter_channel.go was overwritten: %q", got)
	}
}

// TestGenTypesWithoutChannels: a package without channels is an error
// that points at -type.
func TestGenTypesWithoutChannels(t *testing.T) {
	code, _, stderr := seance(t, cwd(t), "gen", "types", "../../diff")
	if code != 1 || !strings.Contains(stderr, "has no LiveState channel") || !strings.Contains(stderr, "-type") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// goCmd runs the go command in dir and fails the test on error.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestGeneratedChannelPassesItsTest generates a channel into a fresh module
// that uses this checkout of Seance, and runs the generated test there.
func TestGeneratedChannelPassesItsTest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module; not in -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	coreMod := string(readFile(t, filepath.Join(root, "go.mod")))
	_, requires, _ := strings.Cut(coreMod, "\nrequire")
	mod := "module example.com/app\n\ngo 1.24\n\nrequire github.com/seance-go/seance v0.0.0\n\nreplace github.com/seance-go/seance => " + root + "\n\nrequire" + requires
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), readFile(t, filepath.Join(root, "go.sum")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSeance(t, dir, "gen", "channel", "counter")
	mustSeance(t, dir, "gen", "channel", "todo-list")
	mustSeance(t, dir, "gen", "channel", "-shared", "lobby")
	env := []string{"GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod"}
	goCmd(t, dir, env, "vet", "./...")
	out := goCmd(t, dir, env, "test", "-count=1", "-v", "./...")
	for _, want := range []string{"--- PASS: TestCounterChannel", "--- PASS: TestTodoListChannel", "--- PASS: TestLobbyChannel"} {
		if !strings.Contains(out, want) {
			t.Errorf("go test output lacks %q:\n%s", want, out)
		}
	}
	// gen types finds the generated channels' states.
	ts := mustSeance(t, dir, "gen", "types")
	for _, want := range []string{"export interface CounterState {\n", "export interface TodoListState {\n", "export interface LobbyState {\n", "  count: number;\n"} {
		if !strings.Contains(ts, want) {
			t.Errorf("gen types output lacks %q:\n%s", want, ts)
		}
	}
}

// Another package's type named like one of the package's keeps its
// package's name as a prefix, whichever is reached first.
func TestGenTypesNameClash(t *testing.T) {
	golden(t, "clash.ts", []byte(mustSeance(t, cwd(t), "gen", "types", "-type", "State", "./testdata/clash")))
}

// Types encoding/json cannot encode are errors naming the JSON path;
// fields it skips are no errors.
func TestGenTypesUnencodable(t *testing.T) {
	code, stdout, stderr := seance(t, cwd(t), "gen", "types", "-type", "Bad", "./testdata/bad")
	for _, want := range []string{
		"Bad.events: encoding/json cannot encode type chan int",
		"Bad.by_point: encoding/json cannot encode a map with key type struct{X int}",
		"Bad.nested.f: encoding/json cannot encode type func()",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 || stdout != "" || strings.Contains(stderr, "Skipped") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = seance(t, cwd(t), "gen", "types", "-type", "Page", "./testdata/bad")
	if code != 1 || !strings.Contains(stderr, "Page is generic") {
		t.Errorf("generic Page: exit %d, stderr:\n%s", code, stderr)
	}
}
