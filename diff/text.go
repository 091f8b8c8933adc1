package diff

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"sync"
)

// BytesDiffer is a Differ that can also compare two JSON texts directly,
// without decoding them into trees. A server that keeps the encoded state it
// last sent (as livestate does) diffs the next encoding against it and never
// holds or builds a decoded tree.
type BytesDiffer interface {
	Differ
	// DiffBytes returns the patch (a JSON array of operations) turning the
	// JSON text prev into next, or nil when they encode the same value. Both
	// must be valid JSON texts, such as encoding/json.Marshal produces;
	// malformed input gives an error or, where the differ does not look, is
	// copied into the patch as is. It does not modify prev or next.
	DiffBytes(prev, next []byte) ([]byte, error)
}

// DiffBytes implements BytesDiffer with the same rules as Diff (index-wise
// arrays with the keyed diff for arrays of objects with ids, whole values
// replaced when their JSON type changes), applied to the texts:
//
//   - The common prefix and suffix of the two texts are found first with
//     memory comparisons; a value lying in the common prefix is equal
//     without looking at next, and once both texts continue identically from
//     corresponding positions the rest is not read at all. One change in a
//     large document therefore costs about one scan of the text before the
//     change.
//   - Values in the patch are copied verbatim from next (numbers keep their
//     text; objects keep their key order).
//   - Values compare by their text: 1.0 and 1, or "\u0041" and "A", differ
//     and are replaced, which is correct but not minimal. Object keys are
//     matched by their decoded value.
//   - Texts with a key repeated within one object (whose meaning RFC 8259
//     leaves open, and which encoding/json never writes for maps or
//     structs) are not supported: the patch is well-formed but may not
//     reproduce next.
//   - Equal texts give nil without being read.
func (treeDiffer) DiffBytes(prev, next []byte) ([]byte, error) {
	if bytes.Equal(prev, next) {
		return nil, nil
	}
	s := textPool.Get().(*textState)
	defer s.release()
	if err := s.runCaught(prev, next); err != nil {
		return nil, err
	}
	return seal(s.out), nil
}

// BytesAppender is a BytesDiffer that can append its patch to a buffer of
// the caller's: a server that wraps the patch in a message of its own
// builds the message without a copy of the patch in between.
type BytesAppender interface {
	BytesDiffer
	// AppendDiffBytes appends the patch DiffBytes(prev, next) returns to
	// dst and returns the extended buffer. When prev and next encode the
	// same value, or on an error, it returns dst unchanged.
	AppendDiffBytes(dst, prev, next []byte) ([]byte, error)
}

// AppendDiffBytes implements BytesAppender with the rules of DiffBytes.
func (treeDiffer) AppendDiffBytes(dst, prev, next []byte) ([]byte, error) {
	if bytes.Equal(prev, next) {
		return dst, nil
	}
	s := textPool.Get().(*textState)
	defer s.release()
	if err := s.runCaught(prev, next); err != nil {
		return dst, err
	}
	return appendSealed(dst, s.out), nil
}

// runCaught is run returning the error a malformed text panics with.
func (s *textState) runCaught(a, b []byte) (err error) {
	var patch []byte
	defer catch(&patch, &err)
	s.run(a, b)
	return nil
}

// textState is the scratch space of one DiffBytes call; it is pooled.
//
// Positions are absolute offsets into a (prev) and b (next). Containers are
// walked with one cursor per text ("streaming"); when keys stop matching
// or array elements need the keyed diff, the rest of both containers is
// collected into items first.
type textState struct {
	a, b []byte
	pre  int // a[:pre] == b[:pre]
	// a[sufA:] == b[sufB:], and len(a)-sufA == len(b)-sufB
	sufA, sufB int
	// done is set when both cursors reached corresponding positions of the
	// common suffix: everything left in both texts is identical, so every
	// container being walked ends without further operations. Loops over
	// collected items clear it after each element.
	done bool
	// frames are the containers of a still open at offset pre, outermost
	// first (one per depth): the walk jumps straight to the child holding
	// the first difference instead of scanning its siblings again.
	frames []openFrame
	depth  int        // containers being walked
	out    []byte     // operations, each with a leading comma
	path   []byte     // current pointer, as JSON string content
	items  []textItem // stack of collected container members
	tmp    []byte
}

// openFrame is a container of a open at offset pre: where it starts, the
// last comma at its own depth before pre (-1 if none) and how many commas
// precede the child holding pre.
type openFrame struct{ start, comma, index int }

// textItem is one member of a container: its raw key (objects only, with
// quotes) and its value's range.
type textItem struct {
	key        []byte
	start, end int
	id         []byte // raw id (keyed array diff)
	idKind     byte   // 0 none, '"' string, '0' number
}

var textPool = sync.Pool{New: func() any {
	return &textState{out: make([]byte, 0, 512), path: make([]byte, 0, 128)}
}}

func (s *textState) release() {
	s.a, s.b, s.done, s.depth = nil, nil, false, 0
	s.frames = s.frames[:0]
	s.out, s.path, s.tmp = s.out[:0], s.path[:0], s.tmp[:0]
	clear(s.items[:cap(s.items)]) // drop references to the caller's texts
	s.items = s.items[:0]
	if cap(s.out) > 64<<10 || cap(s.path) > 4096 || cap(s.items) > 4096 || cap(s.tmp) > 4096 || cap(s.frames) > 256 {
		return // do not keep big buffers alive
	}
	textPool.Put(s)
}

func (s *textState) run(a, b []byte) {
	s.a, s.b = a, b
	n := min(len(a), len(b))
	s.pre = commonPrefix(a[:n], b[:n])
	suf := commonSuffix(a[s.pre:], b[s.pre:])
	s.sufA, s.sufB = len(a)-suf, len(b)-suf
	s.openAt(s.pre)
	ia, ib := skipWS(a, 0), skipWS(b, 0)
	if ia == len(a) || ib == len(b) {
		fail("empty JSON text")
	}
	ea, eb := s.pair(ia, ib)
	if !s.done && (skipWS(a, ea) != len(a) || skipWS(b, eb) != len(b)) {
		fail("data after the JSON value")
	}
}

// commonPrefix returns the length of the common prefix of a and b, which
// have the same length: block memory comparisons, then 8-byte words, then
// bytes.
func commonPrefix(a, b []byte) int {
	const block = 256
	i := 0
	for i+block <= len(a) && bytes.Equal(a[i:i+block], b[i:i+block]) {
		i += block
	}
	for i+8 <= len(a) {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8 // the first byte is the lowest
		}
		i += 8
	}
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix returns the length of the common suffix of a and b.
func commonSuffix(a, b []byte) int {
	const block = 256
	i, j := len(a), len(b)
	for i >= block && j >= block && bytes.Equal(a[i-block:i], b[j-block:j]) {
		i, j = i-block, j-block
	}
	for i >= 8 && j >= 8 {
		if x := binary.LittleEndian.Uint64(a[i-8:]) ^ binary.LittleEndian.Uint64(b[j-8:]); x != 0 {
			return len(a) - i + bits.LeadingZeros64(x)/8 // the last byte is the highest
		}
		i, j = i-8, j-8
	}
	for i > 0 && j > 0 && a[i-1] == b[j-1] {
		i, j = i-1, j-1
	}
	return len(a) - i
}

// openAt scans a up to end once and records the containers open there.
func (s *textState) openAt(end int) {
	d := s.a
	s.frames = s.frames[:0]
	for i := 0; i < end; i++ {
		if !prefixStop[d[i]] {
			continue
		}
		switch d[i] {
		case '"':
			i = skipString(d, i) - 1
		case '{', '[':
			s.frames = append(s.frames, openFrame{start: i, comma: -1})
		case '}', ']':
			if len(s.frames) == 0 {
				fail("unexpected %q at offset %d", d[i], i)
			}
			s.frames = s.frames[:len(s.frames)-1]
		case ',':
			if n := len(s.frames); n > 0 {
				s.frames[n-1].comma = i
				s.frames[n-1].index++
			}
		}
	}
}

var prefixStop = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true, ',': true}

// crossing reports whether the container at ia in a, at the current depth,
// holds offset pre.
func (s *textState) crossing(ia int) bool {
	return s.depth < len(s.frames) && s.frames[s.depth].start == ia
}

// jump moves the cursors of a container holding offset pre (at the same
// place in both texts) past its members that end before pre, and returns
// how many it skipped.
func (s *textState) jump(ia, ib int, ca, cb *cursor) int {
	if ia != ib || !s.crossing(ia) {
		return 0
	}
	f := s.frames[s.depth]
	if f.comma < 0 {
		return 0
	}
	ca.i, cb.i, ca.first, cb.first = f.comma, f.comma, false, false
	return f.index
}

func (s *textState) suffixAligned(ia, ib int) bool {
	return ia >= s.sufA && ib >= s.sufB && ia-s.sufA == ib-s.sufB
}

// pair writes the operations turning the value at ia in a into the value at
// ib in b, and returns their ends. When it sets s.done the ends are
// meaningless and the caller must return at once.
func (s *textState) pair(ia, ib int) (ea, eb int) {
	if s.suffixAligned(ia, ib) {
		s.done = true
		return 0, 0
	}
	a, b := s.a, s.b
	ca, cb := a[ia], b[ib]
	container := (ca == '{' || ca == '[') && ca == cb
	if ia == ib && ia < s.pre {
		// The value starts at the same place in the common prefix.
		if container {
			if s.crossing(ia) {
				return s.walk(ia, ib)
			}
			if e := scanContainer(a, ia, len(a)); e <= s.pre {
				return e, e
			}
			return s.walk(ia, ib)
		}
		e := skipValue(a, ia)
		if e <= s.pre && (ca == '"' || e < s.pre) { // a literal's end needs the byte after it too
			return e, e
		}
	}
	ea, eb = skipValue(a, ia), skipValue(b, ib)
	s.known(ia, ea, ib, eb)
	return ea, eb
}

// known diffs two values whose ranges are known.
func (s *textState) known(ia, ea, ib, eb int) {
	if bytes.Equal(s.a[ia:ea], s.b[ib:eb]) {
		return
	}
	if ca := s.a[ia]; (ca == '{' || ca == '[') && ca == s.b[ib] {
		s.walk(ia, ib)
		return
	}
	s.op("replace", ib, eb)
}

// walk diffs two containers of the same kind.
func (s *textState) walk(ia, ib int) (int, int) {
	if s.a[ia] == '{' {
		return s.object(ia, ib)
	}
	return s.array(ia, ib)
}

// cursor walks the members of one container.
type cursor struct {
	d     []byte
	i     int // after the opening bracket or the last value
	first bool
	close byte
}

func newCursor(d []byte, start int) cursor {
	close := byte(']')
	if d[start] == '{' {
		close = '}'
	}
	return cursor{d: d, i: start + 1, first: true, close: close}
}

// next finds the next member: its raw key (objects) and the start of its
// value. At the closing bracket it returns ok false and c.i is the
// container's end. The caller sets c.i to the value's end.
func (c *cursor) next() (key []byte, start int, ok bool) {
	d := c.d
	i := skipWS(d, c.i)
	if i >= len(d) {
		fail("unexpected end of JSON text")
	}
	if d[i] == c.close {
		c.i = i + 1
		return nil, 0, false
	}
	if !c.first {
		if d[i] != ',' {
			fail("invalid character %q after a value at offset %d", d[i], i)
		}
		i = skipWS(d, i+1)
	}
	c.first = false
	if c.close == '}' {
		if i >= len(d) || d[i] != '"' {
			fail("object key expected at offset %d", i)
		}
		e := skipString(d, i)
		key = d[i:e]
		i = skipWS(d, e)
		if i >= len(d) || d[i] != ':' {
			fail("':' expected at offset %d", i)
		}
		i = skipWS(d, i+1)
	}
	if i >= len(d) {
		fail("unexpected end of JSON text")
	}
	return key, i, true
}

func (s *textState) object(ia, ib int) (int, int) {
	ca, cb := newCursor(s.a, ia), newCursor(s.b, ib)
	s.jump(ia, ib, &ca, &cb)
	s.depth++
	defer func() { s.depth-- }()
	for {
		if s.suffixAligned(ca.i, cb.i) {
			s.done = true
			return 0, 0
		}
		saveA, saveB := ca, cb
		ka, va, okA := ca.next()
		kb, vb, okB := cb.next()
		if !okA && !okB {
			return ca.i, cb.i
		}
		if !okA || !okB || !bytes.Equal(ka, kb) {
			return s.objectRest(saveA, saveB, ib)
		}
		mark := len(s.path)
		s.pushKey(ka)
		ea, eb := s.pair(va, vb)
		s.path = s.path[:mark]
		if s.done {
			return 0, 0
		}
		ca.i, cb.i = ea, eb
	}
}

// collect reads the remaining members of c onto s.items.
func (s *textState) collect(c *cursor) {
	for {
		k, start, ok := c.next()
		if !ok {
			return
		}
		end := skipValue(c.d, start)
		s.items = append(s.items, textItem{key: k, start: start, end: end})
		c.i = end
	}
}

// objectRest diffs the remaining members of two objects whose keys stopped
// matching one by one.
func (s *textState) objectRest(ca, cb cursor, ib int) (int, int) {
	markA := len(s.items)
	s.collect(&ca)
	markB := len(s.items)
	s.collect(&cb)
	ma, mb := s.items[markA:markB], s.items[markB:]
	defer func() {
		clear(s.items[markA:])
		s.items = s.items[:markA]
	}()
	if plainSorted(ma) && plainSorted(mb) {
		// Both key lists are sorted (encoding/json sorts map keys): merge.
		i, j := 0, 0
		for i < len(ma) || j < len(mb) {
			c := 0
			switch {
			case i == len(ma):
				c = 1
			case j == len(mb):
				c = -1
			default:
				c = bytes.Compare(content(ma[i].key), content(mb[j].key))
			}
			mark := len(s.path)
			switch {
			case c < 0:
				s.pushKey(ma[i].key)
				s.op("remove", -1, -1)
				i++
			case c > 0:
				s.pushKey(mb[j].key)
				s.op("add", mb[j].start, mb[j].end)
				j++
			default:
				s.pushKey(mb[j].key)
				s.known(ma[i].start, ma[i].end, mb[j].start, mb[j].end)
				s.done = false
				i, j = i+1, j+1
			}
			s.path = s.path[:mark]
		}
		return ca.i, cb.i
	}
	inB := make(map[string]int, len(mb))
	for j, m := range mb {
		k := keyString(m.key)
		if _, dup := inB[k]; dup {
			// A key twice in next: let the client parse the whole object.
			s.op("replace", ib, cb.i)
			return ca.i, cb.i
		}
		inB[k] = j
	}
	inA := make(map[string]int, len(ma))
	for i, m := range ma {
		inA[keyString(m.key)] = i // the last occurrence wins
	}
	for i, m := range ma {
		k := keyString(m.key)
		if _, ok := inB[k]; ok || inA[k] != i {
			continue
		}
		mark := len(s.path)
		s.pushKey(m.key)
		s.op("remove", -1, -1)
		s.path = s.path[:mark]
	}
	for _, m := range mb {
		mark := len(s.path)
		s.pushKey(m.key)
		if i, ok := inA[keyString(m.key)]; ok {
			s.known(ma[i].start, ma[i].end, m.start, m.end)
			s.done = false
		} else {
			s.op("add", m.start, m.end)
		}
		s.path = s.path[:mark]
	}
	return ca.i, cb.i
}

// content is a raw JSON string without its quotes.
func content(raw []byte) []byte { return raw[1 : len(raw)-1] }

// plainSorted reports whether the keys are strictly increasing and free of
// escapes, so that raw comparison is key comparison.
func plainSorted(items []textItem) bool {
	for i, m := range items {
		if bytes.IndexByte(m.key, '\\') >= 0 {
			return false
		}
		if i > 0 && bytes.Compare(content(items[i-1].key), content(m.key)) >= 0 {
			return false
		}
	}
	return true
}

// keyString decodes a raw JSON string.
func keyString(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(content(raw))
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		fail("invalid object key %s: %v", raw, err)
	}
	return k
}

func (s *textState) array(ia, ib int) (int, int) {
	ca, cb := newCursor(s.a, ia), newCursor(s.b, ib)
	idx := s.jump(ia, ib, &ca, &cb)
	s.depth++
	defer func() { s.depth-- }()
	for {
		if s.suffixAligned(ca.i, cb.i) {
			s.done = true
			return 0, 0
		}
		saveA, saveB := ca, cb
		_, va, okA := ca.next()
		_, vb, okB := cb.next()
		if !okA || !okB {
			return s.arrayRest(saveA, saveB, idx, false)
		}
		start := len(s.out)
		mark := len(s.path)
		s.pushIndex(idx)
		ea, eb := s.pair(va, vb)
		s.path = s.path[:mark]
		if s.done {
			return 0, 0
		}
		if len(s.out) > start && s.a[va] == '{' && s.b[vb] == '{' {
			ida, ka := textID(s.a, va)
			idb, kb := textID(s.b, vb)
			if ka != 0 && kb != 0 && (ka != kb || !bytes.Equal(ida, idb)) {
				// Elements with different ids: try the keyed diff from
				// here on, after undoing this element's operations.
				s.out = s.out[:start]
				return s.arrayRest(saveA, saveB, idx, true)
			}
		}
		ca.i, cb.i = ea, eb
		idx++
	}
}

// arrayRest diffs the remaining elements of two arrays from index p: with
// the keyed diff when asked and possible, else index-wise.
func (s *textState) arrayRest(ca, cb cursor, p int, keyed bool) (int, int) {
	markA := len(s.items)
	s.collect(&ca)
	markB := len(s.items)
	s.collect(&cb)
	la, lb := s.items[markA:markB], s.items[markB:]
	defer func() {
		clear(s.items[markA:])
		s.items = s.items[:markA]
	}()
	if keyed && s.keyed(la, lb, p) {
		return ca.i, cb.i
	}
	n := min(len(la), len(lb))
	for i := 0; i < n; i++ {
		mark := len(s.path)
		s.pushIndex(p + i)
		s.known(la[i].start, la[i].end, lb[i].start, lb[i].end)
		s.done = false
		s.path = s.path[:mark]
	}
	for i := len(la) - 1; i >= n; i-- {
		mark := len(s.path)
		s.pushIndex(p + i)
		s.op("remove", -1, -1)
		s.path = s.path[:mark]
	}
	for i := n; i < len(lb); i++ {
		mark := len(s.path)
		s.path = append(s.path, '/', '-')
		s.op("add", lb[i].start, lb[i].end)
		s.path = s.path[:mark]
	}
	return ca.i, cb.i
}

// textID returns the raw "id" member of the object at start, if it is a
// string or a number, with its kind ('"' or '0'); kind 0 when there is none.
func textID(d []byte, start int) ([]byte, byte) {
	if d[start] != '{' {
		return nil, 0
	}
	c := newCursor(d, start)
	for {
		k, vs, ok := c.next()
		if !ok {
			return nil, 0
		}
		ve := skipValue(d, vs)
		if string(k) == `"id"` {
			switch ch := d[vs]; {
			case ch == '"':
				return d[vs:ve], '"'
			case ch == '-' || ch >= '0' && ch <= '9':
				return d[vs:ve], '0'
			}
			return nil, 0
		}
		c.i = ve
	}
}

// keyed is Tree's keyed array diff (see diffKeyed) over collected
// elements: la and lb are the elements from index p on, and la[0], lb[0]
// have different ids. It writes the rest of the array's patch and returns
// true, or writes nothing and returns false.
func (s *textState) keyed(la, lb []textItem, p int) bool {
	for _, l := range [2]struct {
		items []textItem
		d     []byte
	}{{la, s.a}, {lb, s.b}} {
		for i := range l.items {
			m := &l.items[i]
			m.id, m.idKind = textID(l.d, m.start)
			if m.idKind == 0 {
				return false
			}
		}
	}
	same := func(x, y *textItem) bool { return x.idKind == y.idKind && bytes.Equal(x.id, y.id) }
	n := min(len(la), len(lb))
	suf := 0
	for suf < n && same(&la[len(la)-1-suf], &lb[len(lb)-1-suf]) {
		suf++
	}
	am, bm := la[:len(la)-suf], lb[:len(lb)-suf]
	var matchB []int
	var pairedA []bool
	if len(am) > 0 && len(bm) > 0 {
		index := make(map[string]int, len(am))
		for i := range am {
			k := string(append([]byte{am[i].idKind}, am[i].id...))
			if _, dup := index[k]; dup {
				return false
			}
			index[k] = i
		}
		matchB = make([]int, len(bm))
		pairedA = make([]bool, len(am))
		last, matched := -1, 0
		for j := range bm {
			s.tmp = append(append(s.tmp[:0], bm[j].idKind), bm[j].id...)
			i, found := index[string(s.tmp)] // no allocation for the lookup
			if !found {
				matchB[j] = -1
				continue
			}
			if i <= last {
				return false // reorder or duplicate id
			}
			last = i
			matchB[j] = i
			pairedA[i] = true
			matched++
		}
		if p == 0 && suf == 0 && matched == 0 {
			return false // nothing in common: index-wise edits in place
		}
	}
	for i := len(am) - 1; i >= 0; i-- {
		if pairedA == nil || !pairedA[i] {
			mark := len(s.path)
			s.pushIndex(p + i)
			s.op("remove", -1, -1)
			s.path = s.path[:mark]
		}
	}
	// Walk b: the current array holds lb[:j] followed by the remaining
	// paired elements of la.
	for j := range lb {
		var av *textItem
		switch {
		case j >= len(lb)-suf:
			av = &la[j-len(lb)+len(la)]
		case matchB != nil && matchB[j] >= 0:
			av = &am[matchB[j]]
		}
		mark := len(s.path)
		s.pushIndex(p + j)
		if av == nil {
			s.op("add", lb[j].start, lb[j].end)
		} else {
			s.known(av.start, av.end, lb[j].start, lb[j].end)
			s.done = false
		}
		s.path = s.path[:mark]
	}
	return true
}

// pushKey appends an object key to the path as a reference token.
func (s *textState) pushKey(raw []byte) {
	s.path = append(s.path, '/')
	c := content(raw)
	if bytes.IndexByte(c, '\\') >= 0 {
		s.path = appendToken(s.path, keyString(raw))
		return
	}
	if bytes.IndexByte(c, '~') < 0 && bytes.IndexByte(c, '/') < 0 {
		s.path = append(s.path, c...)
		return
	}
	for _, ch := range c {
		switch ch {
		case '~':
			s.path = append(s.path, '~', '0')
		case '/':
			s.path = append(s.path, '~', '1')
		default:
			s.path = append(s.path, ch)
		}
	}
}

func (s *textState) pushIndex(i int) {
	s.path = append(s.path, '/')
	s.path = strconv.AppendInt(s.path, int64(i), 10)
}

// op writes one operation at the current path; the value is b[vs:ve]
// unless op is "remove".
func (s *textState) op(op string, vs, ve int) {
	s.out = append(s.out, `,{"op":"`...)
	s.out = append(s.out, op...)
	s.out = append(s.out, `","path":"`...)
	s.out = append(s.out, s.path...)
	s.out = append(s.out, '"')
	if op != "remove" {
		s.out = append(s.out, `,"value":`...)
		s.out = append(s.out, s.b[vs:ve]...)
	}
	s.out = append(s.out, '}')
}

// Scanning. These functions find where values end; they check structure
// only as far as they need to and fail on what they cannot skip.

func skipWS(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// structural marks the bytes a container scan stops at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipValue returns the end of the value starting at i.
func skipValue(d []byte, i int) int {
	switch c := d[i]; c {
	case '"':
		return skipString(d, i)
	case '{', '[':
		return scanContainer(d, i, len(d))
	case '}', ']', ',', ':':
		fail("unexpected %q at offset %d", c, i)
	}
	j := i
	for j < len(d) {
		switch d[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		case '"', '{', '[', ':':
			fail("invalid literal at offset %d", i)
		}
		j++
	}
	return j
}

// skipString returns the end of the string whose opening quote is at i.
func skipString(d []byte, i int) int {
	for i++; i < len(d); i++ {
		switch d[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	fail("unterminated string")
	return 0
}

// scanContainer returns the end of the object or array starting at i, or
// -1 when it does not end before limit (limit < len(d)).
func scanContainer(d []byte, i, limit int) int {
	depth := 0
	n := min(limit, len(d))
	for i < n {
		if !structural[d[i]] {
			i++
			continue
		}
		switch d[i] {
		case '"':
			i = skipString(d, i)
			continue
		case '{', '[':
			depth++
		default:
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	if limit < len(d) {
		return -1
	}
	fail("unexpected end of JSON text")
	return 0
}
