package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// browserState and browserChannel are the server side of the browser test.
type browserState struct {
	Title string `json:"title"`
	Count int    `json:"count"`
}

type browserChannel struct{}

func (browserChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (browserState, error) {
	return browserState{Title: "clicks"}, nil
}

func (browserChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *browserState) error {
	if event != "increment" {
		return fmt.Errorf("unknown event %q", event)
	}
	st.Count++
	return nil
}

// browserScript drives the generated element in headless Chromium: it waits
// for the state to render, pushes an event through the element, waits for
// the new state, then for the error of an unknown event.
const browserScript = `import { chromium } from "playwright-core";
const [page_url, executablePath, ...tags] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath, headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"] });
let code = 1;
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.log("[page error] " + e.message));
  await page.goto(page_url);
  // The element's text without whitespace (Lit templates add some).
  const text = (tag) => page.evaluate((tag) => (document.querySelector(tag)?.shadowRoot?.textContent ?? "").replace(/\s+/g, ""), tag);
  for (const tag of tags) {
    const until = async (want) => {
      await page.waitForFunction(([tag, w]) => (document.querySelector(tag)?.shadowRoot?.textContent ?? "").replace(/\s+/g, "").includes(w),
        [tag, want], { timeout: 20000, polling: 50 });
      console.log(tag + " rendered: " + await text(tag));
    };
    await until("titleclickscount0");
    await page.evaluate((tag) => document.querySelector(tag).pushEvent("increment", {}), tag);
    await until("count1");
    await page.evaluate((tag) => document.querySelector(tag).pushEvent("nope", {}), tag);
    await until('error:unknownevent"nope"');
  }
  code = 0;
} catch (e) {
  console.log("failed: " + (e.stack ?? e));
} finally {
  await browser.close();
}
process.exit(code);
`

// TestElementInBrowser bundles a generated element with the printed
// esbuild line's flags and runs it in headless Chromium against a real
// LiveState channel over a WebSocket: it renders the state, its pushEvent
// reaches HandleEvent, and a handler error is shown.
func TestElementInBrowser(t *testing.T) {
	node, modules := requireNodeModules(t, "phx-live-state", "phoenix", "esbuild", "playwright-core", "lit")
	chromium := cmp.Or(os.Getenv("SEANCE_CHROMIUM"), "/usr/bin/chromium")
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; CI=true, so this is a failure", chromium)
		}
		t.Skipf("%s is not installed; skipping", chromium)
	}

	dir := t.TempDir()
	mustSeance(t, dir, "gen", "element", "counter-view")
	mustSeance(t, dir, "gen", "element", "-lit", "counter-lit")
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	static := filepath.Join(dir, "static")
	tags := []string{"counter-view", "counter-lit"}
	for _, tag := range tags {
		if out, ok := runIn(t, dir, filepath.Join(modules, ".bin", "esbuild"), tag+".ts", "--bundle",
			"--format=esm", "--minify", "--outfile="+filepath.Join(static, tag+".js"), "--log-level=warning"); !ok {
			t.Fatalf("esbuild: %s", out)
		}
	}

	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[browserState] { return browserChannel{} }, livestate.Options{}))
	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(static))))
	var socketURL string
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><meta charset="utf-8">`)
		for _, tag := range tags {
			fmt.Fprintf(w, `<script type="module" src="/static/%s.js"></script><%s url=%q topic="counter:1"></%s>`, tag, tag, socketURL, tag)
		}
	})
	srv := httptest.NewServer(mux)
	socketURL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket"
	t.Cleanup(func() {
		srv.CloseClientConnections()
		if err := reg.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		srv.Close()
	})

	script := filepath.Join(dir, "drive.mjs")
	if err := os.WriteFile(script, []byte(browserScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, ok := runIn(t, dir, node, append([]string{script, srv.URL + "/", chromium}, tags...)...); !ok {
		t.Fatalf("the element did not work in Chromium:\n%s", out)
	} else {
		t.Logf("%s", out)
	}
}
