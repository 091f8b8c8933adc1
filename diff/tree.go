package diff

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Tree returns the package's own differ over decoded JSON trees.
//
// Its patches use only "add", "remove" and "replace" and are deterministic:
// object keys are visited in sorted order. Paths are RFC 6901 pointers
// ("~" is written "~0", "/" is written "~1"; keys "" and "0" are ordinary
// keys). A value whose JSON type changes is replaced whole, including the
// root (a "replace" at path ""). null is a value: a key holding null and a
// missing key are different. Numbers are equal when encoding/json would
// write the same text for them, so float64(1) and json.Number("1") are
// equal while json.Number("1.0") differs from both. A nil []any or nil
// map[string]any is treated as null, as encoding/json encodes them.
//
// Arrays are compared index by index: changed elements are diffed in place,
// a shorter next array removes its tail from the highest index down, a
// longer one appends the new tail with "add" at "/-". When every element
// involved is an object with a string or number "id" field and the arrays
// differ by items inserted or removed (matched by id, relative order kept),
// the patch instead removes and adds just those items and diffs the matched
// items in place; on anything else, such as a reorder or duplicate ids, it
// falls back to index-wise comparison.
//
// Values are written by a hand-written encoder whose output matches
// encoding/json.Marshal for these types. Any other Go type in a visited
// part of a tree, NaN or an infinity, or an invalid json.Number makes Diff
// return an error.
func Tree() Differ { return treeDiffer{} }

type treeDiffer struct{}

// treeState is the scratch space for one Diff call; it is pooled.
//
// The differ makes a single pass over both trees. Every operation is written
// with a leading comma (the first one becomes '[' at the end). Objects are
// walked in map order; when more than one key of an object produced
// operations, their byte ranges are put back in key order, so the output is
// deterministic without sorting the keys of unchanged objects.
type treeState struct {
	out  []byte     // patch being written
	path []pathElem // current location
	segs []segment  // stack of per-key output ranges of the objects being walked
	tmp  []byte     // scratch for reordering segments
	enc  encoder
}

// pathElem is one reference token: an object key, or an array index when
// idx >= 0.
type pathElem struct {
	key string
	idx int
}

// segment is the output range written for one key of an object.
type segment struct {
	key        string
	start, end int
}

var treePool = sync.Pool{New: func() any {
	return &treeState{out: make([]byte, 0, 512), path: make([]pathElem, 0, 16)}
}}

// Diff implements Differ.
func (treeDiffer) Diff(prev, next any) (patch []byte, err error) {
	s := treePool.Get().(*treeState)
	defer s.release()
	defer catch(&patch, &err)
	s.diff(prev, next)
	return seal(s.out), nil
}

// catch turns the diffError a differ panics with deep in a document into
// the returned error; other panics go on.
func catch(patch *[]byte, err *error) {
	if r := recover(); r != nil {
		de, ok := r.(diffError)
		if !ok {
			panic(r)
		}
		*patch, *err = nil, de.err
	}
}

// seal turns the operations written so far (each preceded by a comma) into
// a JSON array, copied out of the pooled buffer; nil for no operation.
func seal(out []byte) []byte {
	if len(out) == 0 {
		return nil
	}
	out[0] = '['
	return slices.Clone(append(out, ']'))
}

// appendSealed appends the operations written so far (each preceded by a
// comma) to dst as a JSON array; nothing for no operation.
func appendSealed(dst, out []byte) []byte {
	if len(out) == 0 {
		return dst
	}
	dst = append(dst, '[')
	dst = append(dst, out[1:]...)
	return append(dst, ']')
}

func (s *treeState) release() {
	s.out, s.tmp = s.out[:0], s.tmp[:0]
	clear(s.path[:cap(s.path)]) // drop references to the caller's strings
	clear(s.segs[:cap(s.segs)])
	clear(s.enc.keys[:cap(s.enc.keys)])
	s.path, s.segs, s.enc.keys = s.path[:0], s.segs[:0], s.enc.keys[:0]
	if cap(s.out) > 64<<10 || cap(s.tmp) > 64<<10 || cap(s.path) > 256 || cap(s.segs) > 4096 || cap(s.enc.keys) > 4096 {
		return // do not keep big buffers alive
	}
	treePool.Put(s)
}

// op writes one operation at the current path; value is written unless op
// is "remove".
func (s *treeState) op(op string, value any) {
	s.out = append(s.out, `,{"op":"`...)
	s.out = append(s.out, op...)
	s.out = append(s.out, `","path":"`...)
	for _, e := range s.path {
		s.out = append(s.out, '/')
		if e.idx >= 0 {
			s.out = strconv.AppendInt(s.out, int64(e.idx), 10)
		} else {
			s.out = appendToken(s.out, e.key)
		}
	}
	s.out = append(s.out, '"')
	if op != "remove" {
		s.out = append(s.out, `,"value":`...)
		s.out = s.enc.appendValue(s.out, value)
	}
	s.out = append(s.out, '}')
}

// appendToken writes an object key as an RFC 6901 reference token ("~" as
// "~0", "/" as "~1") inside a JSON string.
func appendToken(dst []byte, k string) []byte {
	if !strings.ContainsAny(k, "~/") {
		return appendStringContent(dst, k)
	}
	return appendStringContent(dst, tokenEscaper.Replace(k))
}

var tokenEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func (s *treeState) diffAt(i int, a, b any) {
	s.path = append(s.path, pathElem{idx: i})
	s.diff(a, b)
	s.path = s.path[:len(s.path)-1]
}

func (s *treeState) opAt(i int, op string, value any) {
	s.path = append(s.path, pathElem{idx: i})
	s.op(op, value)
	s.path = s.path[:len(s.path)-1]
}

// diff writes the operations turning a into b at the current path.
func (s *treeState) diff(a, b any) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok && av != nil && bv != nil {
			s.diffObject(av, bv)
			return
		}
	case []any:
		if bv, ok := b.([]any); ok && av != nil && bv != nil {
			s.diffArray(av, bv)
			return
		}
	}
	if !equal(a, b) {
		s.op("replace", b)
	}
}

func (s *treeState) diffObject(a, b map[string]any) {
	if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
		return
	}
	mark := len(s.segs)
	found := 0
	for k, av := range a {
		bv, ok := b[k]
		if ok {
			found++
			if sameLeaf(av, bv) {
				continue
			}
		}
		start := len(s.out)
		s.path = append(s.path, pathElem{key: k, idx: -1})
		if ok {
			s.diff(av, bv)
		} else {
			s.op("remove", nil)
		}
		s.path = s.path[:len(s.path)-1]
		if len(s.out) > start {
			s.segs = append(s.segs, segment{k, start, len(s.out)})
		}
	}
	if found < len(b) {
		for k, bv := range b {
			if _, ok := a[k]; ok {
				continue
			}
			start := len(s.out)
			s.path = append(s.path, pathElem{key: k, idx: -1})
			s.op("add", bv)
			s.path = s.path[:len(s.path)-1]
			s.segs = append(s.segs, segment{k, start, len(s.out)})
		}
	}
	segs := s.segs[mark:]
	if len(segs) > 1 && !slices.IsSortedFunc(segs, cmpSegment) {
		// The segments are contiguous from the first one's start to the end
		// of the output; copy them back in key order.
		base := segs[0].start
		s.tmp = append(s.tmp[:0], s.out[base:]...)
		slices.SortFunc(segs, cmpSegment)
		w := base
		for _, g := range segs {
			w += copy(s.out[w:], s.tmp[g.start-base:g.end-base])
		}
	}
	clear(segs)
	s.segs = s.segs[:mark]
}

func cmpSegment(x, y segment) int { return strings.Compare(x.key, y.key) }

func (s *treeState) diffArray(a, b []any) {
	n := min(len(a), len(b))
	if len(a) == len(b) && (n == 0 || &a[0] == &b[0]) {
		return
	}
	keyed := true
	for i := 0; i < n; i++ {
		if sameLeaf(a[i], b[i]) {
			continue
		}
		start := len(s.out)
		s.diffAt(i, a[i], b[i])
		if keyed && len(s.out) > start {
			if same, ok := sameID(a[i], b[i]); ok && !same {
				// Elements with different ids: try the keyed diff from here
				// on, after undoing this element's operations.
				s.out = s.out[:start]
				if s.diffKeyed(a, b, i) {
					return
				}
				keyed = false
				s.diffAt(i, a[i], b[i])
			}
		}
	}
	for i := len(a) - 1; i >= n; i-- {
		s.opAt(i, "remove", nil)
	}
	for i := n; i < len(b); i++ {
		s.path = append(s.path, pathElem{key: "-", idx: -1}) // append
		s.op("add", b[i])
		s.path = s.path[:len(s.path)-1]
	}
}

// idKey is the identity of an array element for the keyed array diff.
// Numbers held as float64 and as json.Number never match each other; that
// only costs patch size, never correctness.
type idKey struct {
	s    string
	f    float64
	kind uint8 // 1 string, 2 float64, 3 json.Number
}

func idOf(v any) (idKey, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return idKey{}, false
	}
	switch id := m["id"].(type) {
	case string:
		return idKey{s: id, kind: 1}, true
	case float64:
		return idKey{f: id, kind: 2}, true
	case json.Number:
		return idKey{s: numberText(id), kind: 3}, true
	}
	return idKey{}, false
}

// sameID reports whether a and b both have ids and the ids are equal; ok
// is false when either lacks an id.
func sameID(a, b any) (same, ok bool) {
	ka, okA := idOf(a)
	kb, okB := idOf(b)
	if !okA || !okB {
		return false, false
	}
	return ka == kb, true
}

// diffKeyed tries the keyed array diff. The operations for the elements
// before p are written already, and a[p], b[p] have different ids. It writes
// the rest of the array's patch and returns true, or writes nothing and
// returns false to let the caller go on index-wise.
//
// Correctness does not depend on the ids: any order-preserving pairing of
// elements of a with elements of b gives a valid patch (remove unpaired
// elements of a from the highest index down, then walk b adding unpaired
// elements and diffing paired ones in place). The ids only choose the
// pairing.
func (s *treeState) diffKeyed(a, b []any, p int) bool {
	n := min(len(a), len(b))
	// Common suffix by id.
	suf := 0
	for suf < n-p {
		same, ok := sameID(a[len(a)-1-suf], b[len(b)-1-suf])
		if !ok {
			return false
		}
		if !same {
			break
		}
		suf++
	}
	am, bm := a[p:len(a)-suf], b[p:len(b)-suf]
	// matchB[j] is the index in am paired with bm[j], or -1.
	var matchB []int
	var pairedA []bool
	if len(am) > 0 && len(bm) > 0 {
		index := make(map[idKey]int, len(am))
		for i, v := range am {
			k, ok := idOf(v)
			if !ok {
				return false
			}
			if _, dup := index[k]; dup {
				return false
			}
			index[k] = i
		}
		matchB = make([]int, len(bm))
		pairedA = make([]bool, len(am))
		last, matched := -1, 0
		for j, v := range bm {
			k, ok := idOf(v)
			if !ok {
				return false
			}
			i, found := index[k]
			if !found {
				matchB[j] = -1
				continue
			}
			if i <= last {
				return false // reorder or duplicate id: not insert/remove only
			}
			last = i
			matchB[j] = i
			pairedA[i] = true
			matched++
		}
		if p == 0 && suf == 0 && matched == 0 {
			return false // nothing in common: index-wise edits in place
		}
	} else {
		// Pure insertion or pure removal; every element involved must
		// still have an id.
		for _, v := range am {
			if _, ok := idOf(v); !ok {
				return false
			}
		}
		for _, v := range bm {
			if _, ok := idOf(v); !ok {
				return false
			}
		}
	}
	// Removals, highest index first.
	for i := len(am) - 1; i >= 0; i-- {
		if pairedA == nil || !pairedA[i] {
			s.opAt(p+i, "remove", nil)
		}
	}
	// Walk b from p: the current array holds b[:j] followed by the
	// remaining paired elements of a.
	for j := p; j < len(b); j++ {
		var av any
		if j >= len(b)-suf {
			av = a[j-len(b)+len(a)]
		} else if mi := pairedIndex(matchB, j-p); mi >= 0 {
			av = am[mi]
		} else {
			s.opAt(j, "add", b[j])
			continue
		}
		s.diffAt(j, av, b[j])
	}
	return true
}

func pairedIndex(matchB []int, j int) int {
	if matchB == nil {
		return -1
	}
	return matchB[j]
}

// sameLeaf is a fast path: it reports true only for two equal strings,
// bools or float64s (not -0 vs 0), and false for anything else, including
// values that equal would call equal.
func sameLeaf(a, b any) bool {
	switch a := a.(type) {
	case string:
		b, ok := b.(string)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && a == b && a != 0
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	}
	return false
}

// equal reports whether a and b have the same JSON encoding (up to object
// key order, which encoding/json fixes by sorting).
func equal(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return isNull(b)
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case float64:
		switch b := b.(type) {
		case float64:
			return a == b && (a != 0 || math.Signbit(a) == math.Signbit(b))
		case json.Number:
			return floatEqualsNumber(a, b)
		}
		return false
	case json.Number:
		switch b := b.(type) {
		case json.Number:
			return numberText(a) == numberText(b)
		case float64:
			return floatEqualsNumber(b, a)
		}
		return false
	case []any:
		if a == nil {
			return isNull(b)
		}
		bs, ok := b.([]any)
		if !ok || bs == nil || len(a) != len(bs) {
			return false
		}
		if len(a) == 0 || &a[0] == &bs[0] {
			return true
		}
		for i := range a {
			if !equal(a[i], bs[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		if a == nil {
			return isNull(b)
		}
		bm, ok := b.(map[string]any)
		if !ok || bm == nil || len(a) != len(bm) {
			return false
		}
		if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(bm).UnsafePointer() {
			return true
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	default:
		fail("unsupported type %T in JSON tree", a)
		return false
	}
}

func isNull(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return v == nil
	case map[string]any:
		return v == nil
	}
	return false
}

func numberText(n json.Number) string {
	if n == "" {
		return "0"
	}
	return string(n)
}

func floatEqualsNumber(f float64, n json.Number) bool {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	var buf [32]byte
	return string(appendFloat(buf[:0], f)) == numberText(n)
}
