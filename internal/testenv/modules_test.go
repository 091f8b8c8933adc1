package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNestedModulesRequireTheWorkspaceVersion: every nested module of the
// workspace requires the core at the version go.work replaces with the
// working tree. A module requiring another version would make the go
// command fetch that version (and fail before it is published); one
// replacing the core with a path would break outside the repository.
func TestNestedModulesRequireTheWorkspaceVersion(t *testing.T) {
	root := filepath.Join("..", "..")
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^replace github\.com/seance-go/seance (v\S+) => \./\s*$`).FindSubmatch(work)
	if m == nil {
		t.Fatal("go.work does not replace a version of github.com/seance-go/seance with ./")
	}
	version := string(m[1])
	uses := regexp.MustCompile(`(?m)^\s*(\./\S+)\s*$`).FindAllSubmatch(work, -1)
	if len(uses) == 0 {
		t.Fatal("go.work uses no nested module")
	}
	require := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/seance-go/seance (\S+)\s*$`)
	for _, u := range uses {
		dir := string(u[1])
		mod, err := os.ReadFile(filepath.Join(root, dir, "go.mod"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		got := "nothing"
		if r := require.FindSubmatch(mod); r != nil {
			got = string(r[1])
		}
		if got != version {
			t.Errorf("%s/go.mod requires the core at %s, want %s (go.work's)", dir, got, version)
		}
		if regexp.MustCompile(`(?m)^replace github\.com/seance-go/seance\b`).Match(mod) {
			t.Errorf("%s/go.mod replaces the core: that breaks the module outside this repository", dir)
		}
	}
}

// TestEveryNestedModuleIsInTheWorkspace: a go.mod anywhere in the
// repository (but node_modules) is used by go.work, so that make test and
// the version check above cover it.
func TestEveryNestedModuleIsInTheWorkspace(t *testing.T) {
	root := filepath.Join("..", "..")
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, u := range regexp.MustCompile(`(?m)^\s*(\./\S+)\s*$`).FindAllSubmatch(work, -1) {
		used[filepath.Clean(string(u[1]))] = true
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" || filepath.Dir(path) == root {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		if !used[rel] {
			t.Errorf("%s/go.mod is not in go.work's use list", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
