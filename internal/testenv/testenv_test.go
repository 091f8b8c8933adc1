package testenv

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMissing(t *testing.T) {
	modules := t.TempDir()
	if err := os.MkdirAll(filepath.Join(modules, "installed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modules, "installed", "package.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no node, no chromium
	got := Missing(modules, "chromium-that-is-not-there", "installed", "gone")
	for _, want := range []string{"node", "npm packages gone (run `make npm`)", "chromium-that-is-not-there"} {
		if !strings.Contains(got, want) {
			t.Errorf("Missing = %q, want it to name %q", got, want)
		}
	}
	if strings.Contains(got, "installed") {
		t.Errorf("Missing = %q names an installed package", got)
	}
}

func TestAnnounceQuiet(t *testing.T) {
	// Nothing missing, or CI=true: no line (stderr is swapped to see it).
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	t.Cleanup(func() { os.Stderr = stderr })
	t.Setenv("CI", "true")
	Announce("suite", "node")
	t.Setenv("CI", "")
	Announce("suite", "")
	w.Close()
	out, _ := io.ReadAll(r)
	if len(out) != 0 {
		t.Errorf("Announce printed %q", out)
	}
}
