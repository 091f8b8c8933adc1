package diff

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/seance-go/seance/internal/jsonpatch"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// differs lists the three differs by the names used in logs and corpora.
var differs = []struct {
	name string
	d    Differ
}{
	{"tree", Tree()},
	{"jsondiff", JSONDiff()},
	{"jsonpatch", JSONPatch()},
}

// testSeed returns the seed from DIFF_SEED or the clock, and logs it.
func testSeed(t testing.TB) int64 {
	t.Helper()
	if s := os.Getenv("DIFF_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("DIFF_SEED=%q: %v", s, err)
		}
		t.Logf("seed %d (from DIFF_SEED)", seed)
		return seed
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d (reproduce with DIFF_SEED=%d)", seed, seed)
	return seed
}

// gen makes random pairs of decoded JSON trees.
type gen struct {
	r      *rand.Rand
	nextID int
}

func newGen(seed int64) *gen {
	return &gen{r: rand.New(rand.NewPCG(uint64(seed), 0x5eace))}
}

var (
	genKeys = []string{"", "a/b", "~1", "~0", "0", "10", "-", "a", "b", "c", "id", "x~y/z",
		"é", "<&>", `q"t`, "sp ace", "1", "01", "\u2028", "k\x01"}
	genStrings = []string{"", "x", "hello", "a/b", "~1", "<b>&amp;</b>", "line\nbreak", "tab\t",
		`quote"`, `back\slash`, "\u2028\u2029", "日本語", "emoji 😀", "\x01ctl\x1f", "0", "null", "false"}
	genNumbers = []json.Number{"1", "2.5", "-0", "1e3", "1.0", "0", "-17", "3.25e-2"}
)

func (g *gen) scalar() any {
	r := g.r
	switch r.IntN(9) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2, 3:
		return float64(r.IntN(40) - 5)
	case 4:
		return []float64{0.5, -2.25, 1e21, 1.5e-7, 123456789, 1e-6, 0.1}[r.IntN(7)]
	case 5:
		return genNumbers[r.IntN(len(genNumbers))]
	case 6:
		return "s" + strconv.Itoa(r.IntN(20))
	default:
		return genStrings[r.IntN(len(genStrings))]
	}
}

func (g *gen) key() string {
	if g.r.IntN(3) == 0 {
		return "k" + strconv.Itoa(g.r.IntN(8))
	}
	return genKeys[g.r.IntN(len(genKeys))]
}

func (g *gen) id(numeric bool) any {
	g.nextID++
	switch {
	case !numeric:
		return "id-" + strconv.Itoa(g.nextID)
	case g.r.IntN(8) == 0:
		return json.Number(strconv.Itoa(g.nextID))
	default:
		return float64(g.nextID)
	}
}

func (g *gen) item(depth int, numeric bool) map[string]any {
	m := map[string]any{}
	for n := g.r.IntN(3); n > 0; n-- {
		m[g.key()] = g.value(depth + 1)
	}
	m["id"] = g.id(numeric)
	return m
}

// value returns a random tree; containers stop at depth 4.
func (g *gen) value(depth int) any {
	r := g.r
	if depth >= 4 || r.IntN(5) < 2 {
		return g.scalar()
	}
	switch r.IntN(5) {
	case 0, 1:
		m := map[string]any{}
		for n := r.IntN(6); n > 0; n-- {
			m[g.key()] = g.value(depth + 1)
		}
		return m
	case 2, 3:
		s := []any{}
		for n := r.IntN(6); n > 0; n-- {
			s = append(s, g.value(depth+1))
		}
		return s
	default:
		numeric := r.IntN(2) == 0
		s := []any{}
		for n := r.IntN(8); n > 0; n-- {
			s = append(s, g.item(depth+1, numeric))
		}
		return s
	}
}

func (g *gen) root() any {
	if g.r.IntN(10) == 0 {
		return g.value(0)
	}
	m := map[string]any{}
	for n := 1 + g.r.IntN(6); n > 0; n-- {
		m[g.key()] = g.value(1)
	}
	return m
}

// mutate returns a changed deep copy of v.
func (g *gen) mutate(v any, depth int) any {
	r := g.r
	switch x := r.IntN(20); {
	case x == 0:
		return nil
	case x <= 2:
		return g.value(depth) // new value, often of another type
	}
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			switch r.IntN(10) {
			case 0, 1:
				// deleted
			case 2, 3, 4:
				m[k] = g.mutate(x, depth+1)
			default:
				m[k] = deepCopy(x)
			}
		}
		for n := r.IntN(3); n > 0; n-- {
			m[g.key()] = g.value(depth + 1)
		}
		if _, ok := v["id"]; ok && r.IntN(6) != 0 {
			m["id"] = v["id"] // items keep their id most of the time
		}
		return m
	case []any:
		if isIDArray(v) && r.IntN(5) != 0 {
			return g.mutateIDs(v, depth)
		}
		s := make([]any, 0, len(v)+2)
		for _, x := range v {
			switch r.IntN(10) {
			case 0:
			case 1:
				s = append(s, g.value(depth+1))
				s = append(s, deepCopy(x))
			case 2, 3:
				s = append(s, g.mutate(x, depth+1))
			default:
				s = append(s, deepCopy(x))
			}
		}
		switch r.IntN(6) {
		case 0:
			r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		case 1:
			s = append(s, g.value(depth+1))
		case 2:
			if len(s) > 0 {
				s = s[:r.IntN(len(s))]
			}
		}
		return s
	default:
		if r.IntN(2) == 0 {
			return v
		}
		return g.scalar()
	}
}

func isIDArray(s []any) bool {
	if len(s) == 0 {
		return false
	}
	for _, x := range s {
		if _, ok := idOf(x); !ok {
			return false
		}
	}
	return true
}

// mutateIDs edits an array of objects with ids: deletes, inserts with new
// ids, in-place edits, and now and then a reorder or a duplicate.
func (g *gen) mutateIDs(v []any, depth int) any {
	r := g.r
	k, _ := idOf(v[0])
	numeric := k.kind != 1
	s := make([]any, 0, len(v)+3)
	for _, x := range v {
		switch r.IntN(12) {
		case 0, 1:
			// deleted
		case 2:
			s = append(s, g.item(depth+1, numeric))
			s = append(s, deepCopy(x))
		case 3, 4:
			s = append(s, g.mutate(x, depth+1))
		case 5:
			if r.IntN(4) == 0 {
				s = append(s, deepCopy(x), deepCopy(x)) // duplicate id
			} else {
				s = append(s, deepCopy(x))
			}
		default:
			s = append(s, deepCopy(x))
		}
	}
	for n := r.IntN(3); n > 0; n-- {
		s = append(s, g.item(depth+1, numeric))
	}
	switch r.IntN(10) {
	case 0:
		r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	case 1:
		if len(s) > 1 {
			i, j := r.IntN(len(s)), r.IntN(len(s))
			s[i], s[j] = s[j], s[i]
		}
	}
	return s
}

// pair returns a random (prev, next) pair; about one in twenty is equal.
func (g *gen) pair() (prev, next any) {
	prev = g.root()
	if g.r.IntN(20) == 0 {
		return prev, deepCopy(prev)
	}
	return prev, g.mutate(prev, 0)
}

// checkPatch applies patch to prev and compares the result with next.
func checkPatch(prev, next any, patch []byte) error {
	if string(patch) == "null" {
		return errors.New("patch is the bytes null")
	}
	got, err := applyPatch(prev, patch)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if d := cmp.Diff(normalize(next), normalize(got)); d != "" {
		return fmt.Errorf("patched prev differs from next (-want +got):\n%s", d)
	}
	return nil
}

func TestPropertyRandomPairs(t *testing.T) {
	seed := testSeed(t)
	const n = 2500
	for _, dd := range differs {
		t.Run(dd.name, func(t *testing.T) {
			g := newGen(seed)
			var total, failures int
			for i := 0; i < n; i++ {
				prev, next := g.pair()
				prevCopy, nextCopy := deepCopy(prev), deepCopy(next)
				patch, err := dd.d.Diff(prev, next)
				if err != nil {
					t.Fatalf("case %d: Diff: %v", i, err)
				}
				total += len(patch)
				if d := cmp.Diff(prevCopy, prev); d != "" {
					t.Fatalf("case %d: Diff modified prev:\n%s", i, d)
				}
				if d := cmp.Diff(nextCopy, next); d != "" {
					t.Fatalf("case %d: Diff modified next:\n%s", i, d)
				}
				if cmp.Equal(prev, next) && patch != nil {
					t.Errorf("case %d: equal trees gave patch %s", i, patch)
				}
				if err := checkPatch(prev, next, patch); err != nil {
					failures++
					if failures <= 3 {
						pj, _ := json.Marshal(prev)
						nj, _ := json.Marshal(next)
						t.Errorf("case %d: %v\nprev:  %s\nnext:  %s\npatch: %s", i, err, pj, nj, patch)
					}
				}
				if dd.name == "tree" {
					again, _ := dd.d.Diff(prev, next)
					if string(again) != string(patch) {
						t.Fatalf("case %d: not deterministic:\n%s\n%s", i, patch, again)
					}
					checkTreeOps(t, i, patch)
				}
			}
			if failures > 0 {
				t.Errorf("%d of %d patches wrong", failures, n)
			}
			t.Logf("%d cases, %d patch bytes in all", n, total)
		})
	}
}

// checkTreeOps asserts Tree only uses add, remove and replace.
func checkTreeOps(t *testing.T, i int, patch []byte) {
	t.Helper()
	if patch == nil {
		return
	}
	ops, err := jsonpatch.Parse(patch)
	if err != nil {
		t.Fatalf("case %d: %v", i, err)
	}
	for _, op := range ops {
		switch op.Op {
		case "add", "remove", "replace":
		default:
			t.Fatalf("case %d: tree used op %q", i, op.Op)
		}
	}
}

// corpusLine is one line of the cross-check corpus read by
// e2e/js/patch-property.mjs.
type corpusLine struct {
	Differ string          `json:"differ"`
	Case   int             `json:"case"`
	Prev   any             `json:"prev"`
	Next   any             `json:"next"`
	Patch  json.RawMessage `json:"patch"`
}

// writeCases writes n random cases diffed by d as ndjson lines.
func writeCases(w io.Writer, seed int64, n int, name string, d Differ) error {
	g := newGen(seed)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := 0; i < n; i++ {
		prev, next := g.pair()
		patch, err := d.Diff(prev, next)
		if err != nil {
			return fmt.Errorf("%s case %d: %w", name, i, err)
		}
		if len(patch) == 0 {
			patch = []byte("[]")
		}
		if err := enc.Encode(corpusLine{name, i, prev, next, patch}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// TestWriteCorpus writes a corpus for e2e/js/patch-property.mjs when
// DIFF_CORPUS_OUT names a file. DIFF_CORPUS_N sets the number of cases per
// differ (default 2000), DIFF_CORPUS_DIFFER restricts it to one differ
// (tree, jsondiff or jsonpatch), DIFF_SEED fixes the seed.
func TestWriteCorpus(t *testing.T) {
	out := os.Getenv("DIFF_CORPUS_OUT")
	if out == "" {
		t.Skip("set DIFF_CORPUS_OUT to write a corpus")
	}
	n := 2000
	if s := os.Getenv("DIFF_CORPUS_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 0 {
			t.Fatalf("DIFF_CORPUS_N=%q: bad count", s)
		}
	}
	seed := testSeed(t)
	only := os.Getenv("DIFF_CORPUS_DIFFER")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	written := 0
	for _, dd := range differs {
		if only != "" && only != dd.name {
			continue
		}
		if err := writeCases(f, seed, n, dd.name, dd.d); err != nil {
			t.Fatal(err)
		}
		written++
	}
	if written == 0 {
		t.Fatalf("DIFF_CORPUS_DIFFER=%q matches no differ", only)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d cases for %d differ(s) to %s", n*written, written, out)
}

// TestPatchesApplyInJavaScript applies patches from all three differs with
// json-joy (as phx-live-state does) and fast-json-patch under Node.
func TestPatchesApplyInJavaScript(t *testing.T) {
	e2e, err := filepath.Abs(filepath.Join("..", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(e2e, "js", "patch-property.mjs")
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not on PATH"
	case !isDir(filepath.Join(e2e, "node_modules", "json-joy")) || !isDir(filepath.Join(e2e, "node_modules", "fast-json-patch")):
		missing = "json-joy or fast-json-patch missing in " + filepath.Join(e2e, "node_modules") + " (run npm ci there)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	seed := testSeed(t)
	const n = 2000
	file := filepath.Join(t.TempDir(), "cases.ndjson")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, dd := range differs {
		if err := writeCases(f, seed, n, dd.name, dd.d); err != nil {
			f.Close()
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, file)
	cmd.Dir = e2e
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", filepath.Base(script), strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("node failed: %v", err)
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
