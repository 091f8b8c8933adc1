package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// listedPackage is the part of `go list -json` the loader reads.
type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	Export     string
	GoFiles    []string
	CgoFiles   []string
	ImportMap  map[string]string
	DepOnly    bool
	Error      *struct{ Err string }
}

// loadedPackage is one type-checked package of the user's.
type loadedPackage struct {
	Path  string
	Types *types.Package
	Files []*ast.File
	Fset  *token.FileSet
}

// loadPackages type-checks the packages matching pattern (run from dir)
// from source, importing their dependencies from the export data the go
// command builds (`go list -export`): the standard library alone does what
// golang.org/x/tools/go/packages would, so the core module gains no
// dependency.
func loadPackages(ctx context.Context, dir, pattern string) ([]loadedPackage, error) {
	// A directory is listed from inside, so that its own module applies.
	if !strings.Contains(pattern, "...") && (filepath.IsAbs(pattern) || strings.HasPrefix(pattern, ".")) {
		pdir := pattern
		if !filepath.IsAbs(pdir) {
			pdir = filepath.Join(dir, pdir)
		}
		if st, err := os.Stat(pdir); err == nil && st.IsDir() {
			dir, pattern = pdir, "."
		}
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-export", "-deps",
		"-json=ImportPath,Name,Dir,Export,GoFiles,CgoFiles,ImportMap,DepOnly,Error", "--", pattern)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", pattern, err, strings.TrimSpace(stderr.String()))
	}
	exports := map[string]string{}
	var roots []listedPackage
	dec := json.NewDecoder(&stdout)
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("package %s: %s", p.ImportPath, strings.TrimSpace(p.Error.Err))
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly {
			roots = append(roots, p)
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("no Go package matches %q in %s", pattern, dir)
	}
	var out []loadedPackage
	for _, root := range roots {
		lp, err := checkPackage(root, exports)
		if err != nil {
			return nil, err
		}
		out = append(out, lp)
	}
	return out, nil
}

// checkPackage parses and type-checks one listed package.
func checkPackage(p listedPackage, exports map[string]string) (loadedPackage, error) {
	if len(p.CgoFiles) > 0 {
		return loadedPackage{}, fmt.Errorf("package %s uses cgo, which gen types does not support", p.ImportPath)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return loadedPackage{}, err
		}
		files = append(files, f)
	}
	lookup := func(path string) (io.ReadCloser, error) {
		export, ok := exports[path]
		if !ok || export == "" {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(export)
	}
	imp := mappedImporter{
		imp:       importer.ForCompiler(fset, "gc", lookup).(types.ImporterFrom),
		importMap: p.ImportMap,
	}
	conf := types.Config{Importer: imp}
	pkg, err := conf.Check(p.ImportPath, fset, files, nil)
	if err != nil {
		return loadedPackage{}, fmt.Errorf("type-checking %s: %w", p.ImportPath, err)
	}
	return loadedPackage{Path: p.ImportPath, Types: pkg, Files: files, Fset: fset}, nil
}

// mappedImporter resolves import paths through a package's ImportMap
// (vendored packages).
type mappedImporter struct {
	imp       types.ImporterFrom
	importMap map[string]string
}

func (m mappedImporter) Import(path string) (*types.Package, error) {
	return m.ImportFrom(path, "", 0)
}

func (m mappedImporter) ImportFrom(path, dir string, mode types.ImportMode) (*types.Package, error) {
	if mapped, ok := m.importMap[path]; ok {
		path = mapped
	}
	return m.imp.ImportFrom(path, dir, mode)
}
