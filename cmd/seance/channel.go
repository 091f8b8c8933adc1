package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"unicode"
)

func cmdChannel(ctx context.Context, e *env, args []string) error {
	fset := flag.NewFlagSet("seance gen channel", flag.ContinueOnError)
	fset.SetOutput(e.stderr)
	pkgName := fset.String("pkg", "", "Go package `name` of the new files (default: the package already in the directory, else the directory's name)")
	dir := fset.String("dir", ".", "`directory` to write into")
	force := fset.Bool("f", false, "overwrite existing files")
	shared := fset.Bool("shared", false, "one state per topic shared by all its clients (livestate.NewShared) instead of one per client")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), `Usage: seance gen channel [-dir d] [-pkg name] [-shared] [-f] NAME

Writes NAME_channel.go (a LiveState channel served on the topics "NAME:*",
its state type and a function that registers it) and NAME_channel_test.go
(its test with livestatetest) into the Go package of the directory. With
-shared, the state is one per topic, shared by all its clients. NAME is
a word like counter, todo_list or shoppingCart. The files compile and the
test passes as generated; then make the state and the events yours.

Flags:
`)
		fset.PrintDefaults()
	}
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return usageError{fset, "name the channel: seance gen channel NAME"}
	}
	n, err := parseName(fset.Arg(0))
	if err != nil {
		return usageError{fset, err.Error()}
	}
	target := e.path(*dir)
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a directory", target)
	}
	pkg := *pkgName
	if pkg == "" {
		if pkg, err = packageName(target); err != nil {
			return err
		}
	}
	if !token.IsIdentifier(pkg) {
		return fmt.Errorf("%q is not a Go package name; pass -pkg", pkg)
	}
	data := channelData{Pkg: pkg, Name: n}
	files := []struct {
		name string
		tmpl *template.Template
	}{
		{n.Snake + "_channel.go", channelTmpl},
		{n.Snake + "_channel_test.go", channelTestTmpl},
	}
	if *shared {
		files[0].tmpl, files[1].tmpl = sharedChannelTmpl, sharedChannelTestTmpl
	}
	out := make([][]byte, len(files))
	for i, f := range files {
		var b bytes.Buffer
		if err := f.tmpl.Execute(&b, data); err != nil {
			return err
		}
		src, err := format.Source(b.Bytes())
		if err != nil {
			return fmt.Errorf("generated %s does not parse: %w", f.name, err)
		}
		out[i] = src
		if !*force {
			if _, err := os.Stat(filepath.Join(target, f.name)); err == nil {
				return fmt.Errorf("%s exists; pass -f to overwrite it", filepath.Join(*dir, f.name))
			}
		}
	}
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(target, f.name), out[i], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", filepath.Join(*dir, f.name))
	}
	fmt.Fprintf(e.stdout, `Register the channel in your registry:

	%s(reg) // serves the topics %q

and try it: go test -run Test%sChannel
`, "Handle"+n.Camel, n.Snake+":*", n.Camel)
	return nil
}

// name is a channel name in the spellings the templates need.
type name struct {
	Camel string // TodoList
	Snake string // todo_list
}

// parseName splits a name like todo_list, todo-list, todoList or TodoList
// into words.
func parseName(s string) (name, error) {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = nil
		}
	}
	for i, r := range s {
		switch {
		case r == '_' || r == '-' || r == ' ':
			flush()
		case unicode.IsUpper(r) && i > 0:
			flush()
			cur = append(cur, r)
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			cur = append(cur, r)
		default:
			return name{}, fmt.Errorf("channel name %q: use ASCII letters, digits, '_' or '-'", s)
		}
	}
	flush()
	if len(words) == 0 || unicode.IsDigit(rune(words[0][0])) {
		return name{}, fmt.Errorf("channel name %q must start with a letter", s)
	}
	var camel strings.Builder
	for _, w := range words {
		camel.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return name{Camel: camel.String(), Snake: strings.Join(words, "_")}, nil
}

// packageName reads the package clause of the directory's Go files, or
// falls back to the directory's name.
func packageName(dir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), m, nil, parser.PackageClauseOnly)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return "", fmt.Errorf("reading the package name: %w", err)
		}
		return f.Name.Name, nil
	}
	base := strings.ToLower(strings.NewReplacer("-", "", ".", "", "_", "").Replace(filepath.Base(dir)))
	if !token.IsIdentifier(base) {
		return "", fmt.Errorf("cannot derive a package name from the directory %s; pass -pkg", dir)
	}
	return base, nil
}

type channelData struct {
	Pkg  string
	Name name
}

var channelTmpl = template.Must(template.New("channel").Parse(`package {{.Pkg}}

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// {{.Name.Camel}}State is the state of a {{.Name.Snake}} channel. The client
// receives it as encoding/json encodes it, then JSON patches of each change.
type {{.Name.Camel}}State struct {
	Count int ` + "`json:\"count\"`" + `
}

// {{.Name.Camel}}Channel serves one client of a "{{.Name.Snake}}:*" topic. Its
// fields (none yet) are per-client values that stay on the server.
type {{.Name.Camel}}Channel struct{}

// Handle{{.Name.Camel}} registers the channel in reg for the topics
// "{{.Name.Snake}}:*".
func Handle{{.Name.Camel}}(reg *livestate.Registry) {
	reg.Handle("{{.Name.Snake}}:*", livestate.New(func() livestate.Channel[{{.Name.Camel}}State] {
		return &{{.Name.Camel}}Channel{}
	}, livestate.Options{}))
}

// Init builds the state of a joining client from its join params.
func (c *{{.Name.Camel}}Channel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) ({{.Name.Camel}}State, error) {
	return {{.Name.Camel}}State{}, nil
}

// HandleEvent applies the client's event (lvs_evt:NAME in the protocol,
// pushEvent(NAME, payload) in phx-live-state) to the state. An error is
// pushed to the client as an "error" event.
func (c *{{.Name.Camel}}Channel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, state *{{.Name.Camel}}State) error {
	switch event {
	case "increment":
		var p struct {
			By int ` + "`json:\"by\"`" + `
		}
		if err := payload.Decode(&p); err != nil {
			return fmt.Errorf("increment: %w", err)
		}
		if p.By == 0 {
			p.By = 1
		}
		state.Count += p.By
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}
`))

var channelTestTmpl = template.Must(template.New("test").Parse(`package {{.Pkg}}

import (
	"context"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
)

func Test{{.Name.Camel}}Channel(t *testing.T) {
	reg := livestate.NewRegistry(livestate.Config{})
	Handle{{.Name.Camel}}(reg)
	t.Cleanup(func() {
		if err := reg.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})

	c := livestatetest.Join(t, reg, "{{.Name.Snake}}:1", livestatetest.Options{})
	c.AssertState(` + "`" + `{"count":0}` + "`" + `)

	c.SendEvent("increment", nil)
	c.AssertState(` + "`" + `{"count":1}` + "`" + `)

	c.SendEvent("increment", map[string]int{"by": 41})
	c.AssertState(` + "`" + `{"count":42}` + "`" + `)

	c.SendEvent("no_such_event", nil)
	c.AssertEvent("error", map[string]string{"message": ` + "`" + `unknown event "no_such_event"` + "`" + `})

	var st {{.Name.Camel}}State
	c.StateInto(&st)
	if st.Count != 42 {
		t.Errorf("count = %d, want 42", st.Count)
	}
}
`))

var sharedChannelTmpl = template.Must(template.New("shared").Parse(`package {{.Pkg}}

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// {{.Name.Camel}}State is the state of a {{.Name.Snake}} topic, shared by all
// its clients. They receive it as encoding/json encodes it, then JSON
// patches of each change.
type {{.Name.Camel}}State struct {
	Count int ` + "`json:\"count\"`" + `
}

// {{.Name.Camel}}Channel serves the topics "{{.Name.Snake}}:*": one state per
// topic, made by Init when its first client joins, changed by any client's
// events and synced to all of them.
type {{.Name.Camel}}Channel struct{}

// Handle{{.Name.Camel}} registers the channel in reg for the topics
// "{{.Name.Snake}}:*".
func Handle{{.Name.Camel}}(reg *livestate.Registry) {
	reg.Handle("{{.Name.Snake}}:*", livestate.NewShared[{{.Name.Camel}}State](&{{.Name.Camel}}Channel{}, livestate.Options{}))
}

// Init builds the state of a topic when its first client joins.
func (c *{{.Name.Camel}}Channel) Init(ctx context.Context, topic string) ({{.Name.Camel}}State, error) {
	return {{.Name.Camel}}State{}, nil
}

// HandleEvent applies a client's event (lvs_evt:NAME in the protocol,
// pushEvent(NAME, payload) in phx-live-state) to the topic's state; every
// client of the topic receives the change. An error is pushed to the
// sender as an "error" event.
func (c *{{.Name.Camel}}Channel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, state *{{.Name.Camel}}State) error {
	switch event {
	case "increment":
		var p struct {
			By int ` + "`json:\"by\"`" + `
		}
		if err := payload.Decode(&p); err != nil {
			return fmt.Errorf("increment: %w", err)
		}
		if p.By == 0 {
			p.By = 1
		}
		state.Count += p.By
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}
`))

var sharedChannelTestTmpl = template.Must(template.New("sharedtest").Parse(`package {{.Pkg}}

import (
	"context"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
)

func Test{{.Name.Camel}}Channel(t *testing.T) {
	reg := livestate.NewRegistry(livestate.Config{})
	Handle{{.Name.Camel}}(reg)
	t.Cleanup(func() {
		if err := reg.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})

	// Two clients of one topic share its state.
	a := livestatetest.Join(t, reg, "{{.Name.Snake}}:1", livestatetest.Options{})
	a.AssertState(` + "`" + `{"count":0}` + "`" + `)
	b := livestatetest.Join(t, reg, "{{.Name.Snake}}:1", livestatetest.Options{})
	b.AssertState(` + "`" + `{"count":0}` + "`" + `)

	a.SendEvent("increment", nil)
	a.AssertState(` + "`" + `{"count":1}` + "`" + `)
	b.AssertState(` + "`" + `{"count":1}` + "`" + `)

	b.SendEvent("increment", map[string]int{"by": 41})
	a.AssertState(` + "`" + `{"count":42}` + "`" + `)
	b.AssertState(` + "`" + `{"count":42}` + "`" + `)

	// An error goes to the sender only.
	b.SendEvent("no_such_event", nil)
	b.AssertEvent("error", map[string]string{"message": ` + "`" + `unknown event "no_such_event"` + "`" + `})
	a.AssertNoMessage()

	// Another topic has its own state.
	c := livestatetest.Join(t, reg, "{{.Name.Snake}}:2", livestatetest.Options{})
	c.AssertState(` + "`" + `{"count":0}` + "`" + `)
}
`))
