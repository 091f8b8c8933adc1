// Package testenv finds the tools of the Node and browser test suites (node,
// the npm packages installed in e2e/, Chromium) and, when some are missing,
// says so in one loud line: `go test ./...` shows a passing package's output
// only with -v, so a skipped suite would otherwise go unnoticed.
package testenv

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Missing returns what is missing, or "" when node is in PATH, every one of
// pkgs has a package.json under modules (an e2e/node_modules directory), and
// chromium (a path or a name looked up in PATH; "" skips the check) exists.
func Missing(modules, chromium string, pkgs ...string) string {
	var miss []string
	if _, err := exec.LookPath("node"); err != nil {
		miss = append(miss, "node")
	}
	var npm []string
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(modules, p, "package.json")); err != nil {
			npm = append(npm, p)
		}
	}
	if len(npm) > 0 {
		miss = append(miss, "npm packages "+strings.Join(npm, ", ")+" (run `make npm`)")
	}
	if chromium != "" {
		if _, err := exec.LookPath(chromium); err != nil {
			miss = append(miss, chromium+" (apt-get install chromium)")
		}
	}
	return strings.Join(miss, "; ")
}

// Announce prints one line saying that suites are skipped because missing
// is missing, unless missing is "" or CI is "true" (where the suites fail
// instead). The line goes to the terminal when there is one, so that a
// plain `go test ./...` shows it, else to standard error.
func Announce(suites, missing string) {
	if missing == "" || os.Getenv("CI") == "true" {
		return
	}
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	fmt.Fprintf(w, "*** SKIPPING %s: missing %s ***\n", suites, missing)
}
