package report

import (
	"embed"
	"io/fs"
	"sort"
)

// sections holds the BENCHMARKS.md sections that this harness does not
// measure (exact byte counts, Go benchmarks of other packages), one file
// each, named so that they sort in the order they appear. Edit them there:
// every run of the harness rewrites BENCHMARKS.md with them.
//
//go:embed sections/*.md
var sections embed.FS

// handSections returns the sections' texts in file-name order.
func handSections() []string {
	names, _ := fs.Glob(sections, "sections/*.md")
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		b, _ := sections.ReadFile(n)
		out = append(out, string(b))
	}
	return out
}
