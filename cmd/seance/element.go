package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

func cmdElement(ctx context.Context, e *env, args []string) error {
	fset := flag.NewFlagSet("seance gen element", flag.ContinueOnError)
	fset.SetOutput(e.stderr)
	dir := fset.String("dir", ".", "`directory` to write TAG.ts into")
	topic := fset.String("topic", "", "default `topic` when the element has no topic attribute (default: TAG's first word + \":1\")")
	url := fset.String("url", "ws://localhost:4000/socket", "default socket `URL` when the element has no url attribute")
	state := fset.String("state", "", "Go state `type` to render field by field, type-checked against the declarations of gen types")
	pkg := fset.String("pkg", ".", "Go `package` that declares the -state type")
	typesFrom := fset.String("types", "./state", "module `specifier` the element imports the -state type from (the file gen types wrote)")
	force := fset.Bool("f", false, "overwrite an existing file")
	lit := fset.Bool("lit", false, "write a Lit element (LitElement, lit templates) instead of a dependency-free one")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), `Usage: seance gen element [flags] TAG

Writes TAG.ts: a custom element <TAG> without dependencies beyond
phx-live-state (or, with -lit, a Lit element) that joins a LiveState channel
and renders its state. Its url and topic attributes choose the socket and
the topic. With -state, it
renders the fields of that Go type and imports the type from the
declarations that "seance gen types" writes, so tsc checks the element
against the Go state.

Flags:
`)
		fset.PrintDefaults()
	}
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return usageError{fset, "name the element: seance gen element TAG (a name with a dash, like counter-view)"}
	}
	tag := fset.Arg(0)
	if err := validTagName(tag); err != nil {
		return usageError{fset, err.Error()}
	}
	data := elementData{Tag: tag, URL: *url, Topic: *topic, TypesFrom: *typesFrom}
	if data.Topic == "" {
		data.Topic = strings.Split(tag, "-")[0] + ":1"
	}
	n, err := parseName(tag)
	if err != nil {
		return err
	}
	data.Class = n.Camel
	if *state != "" {
		fields, err := stateFields(ctx, e, *pkg, *state)
		if err != nil {
			return err
		}
		data.State, data.Fields = *state, fields
	}
	tmpl, deps := elementTmpl, "phx-live-state phoenix esbuild"
	if *lit {
		tmpl, deps = litElementTmpl, "lit phx-live-state phoenix esbuild"
	}
	data.Deps = deps
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return err
	}
	file := filepath.Join(*dir, tag+".ts")
	path := e.path(file)
	if !*force {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists; pass -f to overwrite it", file)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", file)
	if data.State != "" {
		fmt.Fprintf(e.stdout, "Write the state declarations it imports:\n\n\tgo run github.com/seance-go/seance/cmd/seance gen types -o %s.ts %s\n\n",
			filepath.Join(*dir, strings.TrimPrefix(*typesFrom, "./")), *pkg)
	}
	fmt.Fprintf(e.stdout, `Bundle it for the browser (phx-live-state's imports need a bundler):

	npm install %s
	npx esbuild %s --bundle --format=esm --minify --outfile=static/%s.js

and use it from any page:

	<script type="module" src="/static/%s.js"></script>
	<%s url="%s" topic="%s"></%s>
`, deps, file, tag, tag, tag, data.URL, data.Topic, tag)
	return nil
}

// validTagName checks the rules of custom element names that matter in
// practice: lowercase ASCII, starting with a letter, with a dash.
func validTagName(tag string) error {
	if !strings.Contains(tag, "-") || tag[0] < 'a' || tag[0] > 'z' || strings.HasSuffix(tag, "-") {
		return fmt.Errorf("element name %q: a custom element name starts with a lowercase letter and contains a dash (like counter-view)", tag)
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("element name %q: use lowercase letters, digits and dashes", tag)
		}
	}
	switch tag {
	case "annotation-xml", "color-profile", "font-face", "font-face-src", "font-face-uri",
		"font-face-format", "font-face-name", "missing-glyph":
		return fmt.Errorf("element name %q is reserved by HTML", tag)
	}
	return nil
}

// stateFields lists the JSON fields of a struct type of the package.
func stateFields(ctx context.Context, e *env, pattern, typeName string) ([]elementField, error) {
	pkgs, err := loadPackages(ctx, e.dir, pattern)
	if err != nil {
		return nil, err
	}
	if len(pkgs) != 1 {
		return nil, fmt.Errorf("%q matches %d packages; name one with -pkg", pattern, len(pkgs))
	}
	obj, ok := pkgs[0].Types.Scope().Lookup(typeName).(*types.TypeName)
	if !ok {
		return nil, fmt.Errorf("package %s has no type %s", pkgs[0].Path, typeName)
	}
	st, ok := obj.Type().Underlying().(*types.Struct)
	if !ok {
		return nil, fmt.Errorf("%s is not a struct type", typeName)
	}
	var fields []elementField
	for _, f := range jsonFields(st) {
		access := "." + f.name
		if propName(f.name) != f.name {
			access = "[" + jsString(f.name) + "]"
		}
		fields = append(fields, elementField{Name: f.name, Access: access})
	}
	return fields, nil
}

type elementData struct {
	Tag, Class, URL, Topic string
	Deps                   string // the npm packages to install
	State, TypesFrom       string
	Fields                 []elementField
}

type elementField struct {
	Name   string // the JSON name, as the label
	Access string // .name or ["name"]
}

// JS quotes s as a JavaScript string literal.
func (d elementData) JS(s string) string { return jsString(s) }

// jsString quotes s as a JSON string, which is also a JavaScript and
// TypeScript string literal (strconv.Quote's \U escapes are not).
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

var elementTmpl = template.Must(template.New("element").Parse(`// <{{.Tag}}>: shows the state of a LiveState channel (written by
// "seance gen element"; make it yours).
//
// Bundle it for the browser (phx-live-state's imports need a bundler):
//
//   npm install {{.Deps}}
//   npx esbuild {{.Tag}}.ts --bundle --format=esm --minify --outfile=static/{{.Tag}}.js
//
// and use it from any page:
//
//   <script type="module" src="/static/{{.Tag}}.js"></script>
//   <{{.Tag}} url="{{.URL}}" topic="{{.Topic}}"></{{.Tag}}>
import { LiveState } from "phx-live-state";
import type { LiveStateChange, LiveStateError } from "phx-live-state";
{{- if .State}}
import type { {{.State}} } from {{.JS .TypesFrom}};

type State = {{.State}};
{{- else}}

type State = Record<string, unknown>;
{{- end}}

export class {{.Class}} extends HTMLElement {
  /** The channel's state, as last received (undefined until joined). */
  state?: State;
  /** The last error the socket, the channel or the server reported. */
  error = "";
  #liveState?: LiveState;

  connectedCallback(): void {
    const liveState = new LiveState({
      url: this.getAttribute("url") ?? {{.JS .URL}},
      topic: this.getAttribute("topic") ?? {{.JS .Topic}},
    });
    // state:change and state:patch both end in a livestate-change event.
    liveState.addEventListener("livestate-change", (e: Event) => {
      this.state = (e as CustomEvent<LiveStateChange>).detail.state as State;
      this.error = "";
      this.render();
    });
    liveState.addEventListener("livestate-error", (e: Event) => {
      this.error = (e as CustomEvent<LiveStateError>).detail.message;
      this.render();
    });
    // Errors returned by the channel's HandleEvent arrive as "error" events.
    liveState.addEventListener("error", (e: Event) => {
      this.error = String((e as CustomEvent<{ message?: string }>).detail?.message ?? "error");
      this.render();
    });
    liveState.connect();
    this.#liveState = liveState;
    this.render();
  }

  disconnectedCallback(): void {
    this.#liveState?.disconnect();
    this.#liveState = undefined;
  }

  /** Sends the event name to the channel's HandleEvent with payload. */
  pushEvent(name: string, payload: object = {}): void {
    this.#liveState?.pushEvent(name, payload);
  }

  render(): void {
    const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    const parts: Node[] = [];
    if (this.error) {
      parts.push(el("p", "error: " + this.error));
    }
    const state = this.state;
    if (state === undefined) {
      parts.push(el("p", "connecting…"));
    } else {
      const list = document.createElement("dl");
{{- if .State}}
{{- range .Fields}}
      list.append(el("dt", {{$.JS .Name}}), el("dd", show(state{{.Access}})));
{{- end}}
{{- else}}
      for (const [name, value] of Object.entries(state)) {
        list.append(el("dt", name), el("dd", show(value)));
      }
{{- end}}
      parts.push(list);
    }
    root.replaceChildren(...parts);
  }
}

/** An element with text content (never HTML: state is data, not markup). */
function el(tag: string, text: string): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = text;
  return e;
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}

if (!customElements.get({{.JS .Tag}})) {
  customElements.define({{.JS .Tag}}, {{.Class}});
}

declare global {
  interface HTMLElementTagNameMap {
    {{.JS .Tag}}: {{.Class}};
  }
}
`))

// litElementTmpl writes {{bt}} for the backticks of JavaScript template
// literals, which a Go raw string cannot hold.
var litElementTmpl = template.Must(template.New("lit").Funcs(template.FuncMap{"bt": func() string { return "`" }}).Parse(`// <{{.Tag}}>: a Lit element that shows the state of a LiveState channel
// (written by "seance gen element -lit"; make it yours).
//
// Bundle it for the browser (phx-live-state's imports need a bundler):
//
//   npm install {{.Deps}}
//   npx esbuild {{.Tag}}.ts --bundle --format=esm --minify --outfile=static/{{.Tag}}.js
//
// and use it from any page:
//
//   <script type="module" src="/static/{{.Tag}}.js"></script>
//   <{{.Tag}} url="{{.URL}}" topic="{{.Topic}}"></{{.Tag}}>
import { LitElement, html } from "lit";
import { LiveState } from "phx-live-state";
import type { LiveStateChange, LiveStateError } from "phx-live-state";
{{- if .State}}
import type { {{.State}} } from {{.JS .TypesFrom}};

type State = {{.State}};
{{- else}}

type State = Record<string, unknown>;
{{- end}}

export class {{.Class}} extends LitElement {
  // Reactive properties without decorators: no compiler flags needed.
  static override properties = {
    url: { type: String },
    topic: { type: String },
    state: { state: true },
    error: { state: true },
  };

  /** The socket URL (attribute url). */
  declare url: string;
  /** The channel's topic (attribute topic). */
  declare topic: string;
  /** The channel's state, as last received (undefined until joined). */
  declare state?: State;
  /** The last error the socket, the channel or the server reported. */
  declare error: string;
  #liveState?: LiveState;

  constructor() {
    super();
    this.url = {{.JS .URL}};
    this.topic = {{.JS .Topic}};
    this.error = "";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const liveState = new LiveState({ url: this.url, topic: this.topic });
    // state:change and state:patch both end in a livestate-change event.
    liveState.addEventListener("livestate-change", (e: Event) => {
      this.state = (e as CustomEvent<LiveStateChange>).detail.state as State;
      this.error = "";
    });
    liveState.addEventListener("livestate-error", (e: Event) => {
      this.error = (e as CustomEvent<LiveStateError>).detail.message;
    });
    // Errors returned by the channel's HandleEvent arrive as "error" events.
    liveState.addEventListener("error", (e: Event) => {
      this.error = String((e as CustomEvent<{ message?: string }>).detail?.message ?? "error");
    });
    liveState.connect();
    this.#liveState = liveState;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#liveState?.disconnect();
    this.#liveState = undefined;
  }

  /** Sends the event name to the channel's HandleEvent with payload. */
  pushEvent(name: string, payload: object = {}): void {
    this.#liveState?.pushEvent(name, payload);
  }

  override render() {
    const state = this.state;
    return html{{bt}}
      ${this.error ? html{{bt}}<p>error: ${this.error}</p>{{bt}} : ""}
      ${state === undefined
        ? html{{bt}}<p>connecting…</p>{{bt}}
        : html{{bt}}<dl>
{{- if .State}}
{{- range .Fields}}
            <dt>${ {{- $.JS .Name -}} }</dt><dd>${show(state{{.Access}})}</dd>
{{- end}}
{{- else}}
            ${Object.entries(state).map(([name, value]) => html{{bt}}<dt>${name}</dt><dd>${show(value)}</dd>{{bt}})}
{{- end}}
          </dl>{{bt}}}
    {{bt}};
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "";
}

if (!customElements.get({{.JS .Tag}})) {
  customElements.define({{.JS .Tag}}, {{.Class}});
}

declare global {
  interface HTMLElementTagNameMap {
    {{.JS .Tag}}: {{.Class}};
  }
}
`))
