package inspector

import (
	"strings"
	"testing"
)

// TestPageModuleURL: the module URL is written into the page's script as
// a JavaScript string, escaped.
func TestPageModuleURL(t *testing.T) {
	var b strings.Builder
	if err := page.Execute(&b, `/assets/phx-live-state.js?x="</script>`); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `const moduleURL = "/assets/phx-live-state.js?x=\"\u003c/script\u003e";`) {
		i := strings.Index(out, "const moduleURL")
		t.Errorf("module URL not escaped as a JS string: %s", out[i:i+80])
	}
}
