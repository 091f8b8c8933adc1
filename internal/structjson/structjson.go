// Package structjson encodes and diffs values of plain struct types without
// encoding/json: a struct whose encoded fields are booleans, integers,
// floats, strings, plain structs, slices of the scalars or of plain structs,
// or maps from strings to the scalars or to plain structs (no slice of
// items with ids inside the elements of a slice or the values of a map),
// with no custom marshalling. A synced state of such a type is diffed field by field
// against its last synced copy instead of being encoded and diffed as text.
// Apart from its slices and maps such a value holds no reference: a Go
// assignment followed by [Plan.DetachLists] is a deep copy.
//
// The encoding is byte for byte what encoding/json's Encoder writes (HTML
// escaped), and a diff is the RFC 6902 patch the text differ of package diff
// computes between the two encodings: one operation per changed leaf, in
// document order; a field with omitempty that becomes empty is removed, one
// that stops being empty is added.
package structjson

import (
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/seance-go/seance/internal/jsonenc"
)

// Plan encodes and diffs the values of one plain struct type.
type Plan struct {
	fields []field
	lists  bool // a field holds a slice or a map, or a struct that does
	keyed  bool // a field holds a slice of items with ids, or a struct that does
}

type field struct {
	name      string
	key       string // the encoded `"name":`
	path      string // the JSON pointer segment: "/" and the escaped name
	off       uintptr
	ops       *scalar // a scalar's; nil for a struct or a slice
	omitEmpty bool
	sub       *Plan // a struct's plan
	list      *list // a slice's
	dict      *dict // a map's
}

// list is what a plan does with a slice: its elements are scalars (ops) or
// plain structs (sub) whose own slices hold no items with ids (no keyed
// lists within elements). AppendDiff compares them as the text differ
// does: index by index, and by id where elements with ids differ in their
// ids.
type list struct {
	typ   reflect.Type // the slice type
	size  uintptr      // of an element
	value              // the elements'
	// id is the elements' "id" member when it is a string or a number:
	// the text differ then pairs elements by id where their ids differ
	// (keyed); nil otherwise.
	id *field
}

// header is a slice's header.
type header struct {
	data     unsafe.Pointer
	len, cap int
}

func (l *list) elem(h *header, i int) unsafe.Pointer { return unsafe.Add(h.data, uintptr(i)*l.size) }

// plans caches For's answers per type (a *Plan, or nil when not plain).
var plans sync.Map

// For returns the plan of t, or nil when t is not a plain struct type.
func For(t reflect.Type) *Plan {
	if p, ok := plans.Load(t); ok {
		return p.(*Plan)
	}
	p := build(t, 0)
	plans.Store(t, p)
	return p
}

var (
	marshaler     = reflect.TypeFor[interface{ MarshalJSON() ([]byte, error) }]()
	textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
)

// maxDepth bounds the nesting of plain structs.
const maxDepth = 16

func custom(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshaler) || t.Implements(textMarshaler) || pt.Implements(marshaler) || pt.Implements(textMarshaler)
}

func build(t reflect.Type, depth int) *Plan {
	if t.Kind() != reflect.Struct || depth > maxDepth || custom(t) {
		return nil
	}
	p := &Plan{}
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil // embedded fields are promoted: not handled
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		omitEmpty := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				omitEmpty = true
			default:
				return nil // string, omitzero, and options to come
			}
		}
		if name == "" {
			name = sf.Name
		} else if !simpleName(name) {
			return nil
		}
		if seen[name] {
			return nil // encoding/json's rules for duplicates: not handled
		}
		seen[name] = true
		if custom(sf.Type) {
			return nil
		}
		f := field{name: name, off: sf.Offset, omitEmpty: omitEmpty}
		switch sf.Type.Kind() {
		case reflect.Struct:
			if f.sub = build(sf.Type, depth+1); f.sub == nil {
				return nil
			}
			p.lists = p.lists || f.sub.lists
			p.keyed = p.keyed || f.sub.keyed
		case reflect.Slice:
			if f.list = buildList(sf.Type, depth+1); f.list == nil {
				return nil
			}
			p.lists = true
			p.keyed = p.keyed || f.list.id != nil
		case reflect.Map:
			if f.dict = buildDict(sf.Type, depth+1); f.dict == nil {
				return nil
			}
			p.lists = true
		default:
			if f.ops = scalars[sf.Type.Kind()]; f.ops == nil {
				return nil // pointers, maps, interfaces, arrays…
			}
		}
		f.key = string(jsonenc.AppendString(nil, name, true)) + ":"
		f.path = "/" + pointerToken.Replace(name)
		p.fields = append(p.fields, f)
	}
	return p
}

// buildList returns the list of the slice type t, or nil when its elements
// are not scalars or plain structs, or are structs holding a keyed list
// (items with ids) at any depth: the keyed diff of an inner list depends
// on everything after it in the document (lastChange), which the diff of
// an element does not follow.
// []byte (any element of kind uint8) is left out: encoding/json writes it
// in base64.
func buildList(t reflect.Type, depth int) *list {
	e := t.Elem()
	if custom(e) || e.Kind() == reflect.Uint8 {
		return nil
	}
	l := &list{typ: t, size: e.Size()}
	if e.Kind() == reflect.Struct {
		if l.sub = build(e, depth); l.sub == nil || l.sub.keyed {
			return nil
		}
		if i := slices.IndexFunc(l.sub.fields, func(f field) bool { return f.name == "id" }); i >= 0 {
			// The text differ takes a string or a number as an id;
			// a boolean or an object is not one.
			if f := &l.sub.fields[i]; f.ops != nil && f.ops != scalars[reflect.Bool] {
				l.id = f
			}
		}
		return l
	}
	if l.ops = scalars[e.Kind()]; l.ops == nil {
		return nil
	}
	return l
}

// buildDict returns the dict of the map type t, or nil unless its keys
// are strings and its values scalars or plain structs without keyed lists
// (items with ids) at any depth. Maps of the unnamed basic types are read
// without reflection (dictImpls); the others through it (mapValues).
func buildDict(t reflect.Type, depth int) *dict {
	e := t.Elem()
	if t.Key() != reflect.TypeFor[string]() || custom(e) {
		return nil
	}
	if impl := dictImpls[e]; impl != nil {
		return &dict{value: value{ops: scalars[e.Kind()]}, impl: impl}
	}
	if e.Kind() == reflect.Struct {
		sub := build(e, depth)
		if sub == nil || sub.keyed {
			return nil
		}
		return &dict{value: value{sub: sub}, impl: newMapValues(t, sub.same, sub)}
	}
	// A named scalar type ([]byte-like uint8 values are numbers in a map).
	if ops := scalars[e.Kind()]; ops != nil {
		return &dict{value: value{ops: ops}, impl: newMapValues(t, ops.same, nil)}
	}
	return nil
}

// simpleName reports whether a tag's name is one encoding/json takes as it
// is: letters, digits and a few punctuation characters.
func simpleName(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("_-.$@:/~ ", c):
		default:
			return false
		}
	}
	return true
}

// ErrUnsupportedValue is returned for a NaN or infinite float, which JSON
// cannot carry (encoding/json fails on them too).
var ErrUnsupportedValue = errors.New("structjson: unsupported value: NaN or infinite float")

// AppendJSON appends the encoding of the struct at v.
func (p *Plan) AppendJSON(dst []byte, v unsafe.Pointer) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		fp := unsafe.Add(v, f.off)
		if !f.present(fp) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.key...)
		var err error
		if dst, err = f.appendValue(dst, fp); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

func (f *field) appendValue(dst []byte, fp unsafe.Pointer) ([]byte, error) {
	switch {
	case f.list != nil:
		return f.list.appendJSON(dst, fp)
	case f.dict != nil:
		return f.dict.appendJSON(dst, fp)
	case f.ops == nil:
		return f.sub.AppendJSON(dst, fp)
	}
	return f.ops.encode(dst, fp)
}

// appendJSON appends the encoding of the slice at fp: null when it is nil.
func (l *list) appendJSON(dst []byte, fp unsafe.Pointer) ([]byte, error) {
	h := (*header)(fp)
	if h.data == nil {
		return append(dst, "null"...), nil
	}
	dst = append(dst, '[')
	for i := range h.len {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = l.encodeValue(dst, l.elem(h, i)); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// value is what a plan does with the elements of a slice or the values of
// a map: they are scalars (ops) or plain structs (sub).
type value struct {
	ops *scalar
	sub *Plan
}

// encodeValue appends the encoding of the value at p.
func (v value) encodeValue(dst []byte, p unsafe.Pointer) ([]byte, error) {
	if v.sub != nil {
		return v.sub.AppendJSON(dst, p)
	}
	return v.ops.encode(dst, p)
}

// sameValue reports whether the values at a and b encode alike.
func (v value) sameValue(a, b unsafe.Pointer) bool {
	if v.sub != nil {
		return v.sub.same(a, b)
	}
	return v.ops.same(a, b)
}

// same reports whether the structs at a and b encode alike.
func (p *Plan) same(a, b unsafe.Pointer) bool {
	for i := range p.fields {
		f := &p.fields[i]
		if !f.same(unsafe.Add(a, f.off), unsafe.Add(b, f.off)) {
			return false
		}
	}
	return true
}

// appendChanges appends the operations turning the non-nil slice at a into
// the one at b, as the text differ writes them: the common elements index
// by index, then the removal of a's extra ones from the last, then b's
// extra ones appended ("/-"). Where two elements with ids (see list.id)
// differ in their ids, the rest goes to the keyed diff, or, when that does
// not apply, on index by index without looking at ids again.
func (l *list) appendChanges(dst []byte, a, b unsafe.Pointer, path string, c *diffCtx) ([]byte, error) {
	ha, hb := (*header)(a), (*header)(b)
	return l.indexWise(dst, ha, hb, 0, path, l.id != nil, c)
}

// indexWise is appendChanges from index p on; keyed tells whether to look
// for elements whose ids differ.
func (l *list) indexWise(dst []byte, ha, hb *header, p int, path string, keyed bool, c *diffCtx) ([]byte, error) {
	var err error
	var ch *Changes
	if c != nil && c.changes != nil && p == 0 && ha.len == hb.len && l.sub != nil && l.sub.lists {
		ch = c.changes // deep elements, all of them diffed in place
	}
	from := 0
	if ch != nil {
		from = len(ch.idx)
	}
	for i := p; i < min(ha.len, hb.len); i++ {
		ea, eb := l.elem(ha, i), l.elem(hb, i)
		if l.sameValue(ea, eb) {
			continue
		}
		if keyed && l.hasID(ea) && l.hasID(eb) && !l.id.ops.same(unsafe.Add(ea, l.id.off), unsafe.Add(eb, l.id.off)) && !l.lastChange(ea, eb, ha, hb, i, c) {
			if ch != nil {
				ch.idx = ch.idx[:from] // not in place after all: nothing noted
			}
			var ok bool
			if dst, ok, err = l.keyed(dst, ha, hb, i, path); ok || err != nil {
				return dst, err
			}
			return l.indexWise(dst, ha, hb, i, path, false, c)
		}
		if dst, err = l.appendElemChange(dst, ea, eb, path, i); err != nil {
			return dst, err
		}
		if ch != nil {
			ch.idx = append(ch.idx, i)
		}
	}
	if ch != nil {
		ch.lists = append(ch.lists, changedList{old: ha.data, n: ha.len, from: from, to: len(ch.idx)})
	}
	for i := ha.len - 1; i >= hb.len; i-- {
		dst = appendIndexOp(dst, "remove", path, i)
		dst = append(dst, '}')
	}
	for i := ha.len; i < hb.len; i++ {
		dst = append(dst, `,{"op":"add","path":`...)
		dst = appendPath(dst, path, "/-")
		dst = append(dst, `,"value":`...)
		if dst, err = l.encodeValue(dst, l.elem(hb, i)); err != nil {
			return dst, err
		}
		dst = append(dst, '}')
	}
	return dst, nil
}

// lastChange reports whether the text differ, walking the elements at ea
// and eb (index i), reaches the end of the last change of the whole
// document before it would look at their ids: it stops where everything
// left of both texts is the same, which it checks before each member of
// an object it walks member by member. That takes elements whose members
// are the same ones (no omitempty member on one side only: the differ
// would merge those members instead), after which nothing differs: the
// later elements, and everything after the list (c).
func (l *list) lastChange(ea, eb unsafe.Pointer, ha, hb *header, i int, c *diffCtx) bool {
	for j := range l.sub.fields {
		f := &l.sub.fields[j]
		if f.present(unsafe.Add(ea, f.off)) != f.present(unsafe.Add(eb, f.off)) {
			return false
		}
	}
	if ha.len != hb.len {
		return false
	}
	for j := i + 1; j < ha.len; j++ {
		if !l.sameValue(l.elem(ha, j), l.elem(hb, j)) {
			return false
		}
	}
	return c.restSame()
}

// diffCtx is the state of one AppendDiff of a plan with keyed lists (items
// with ids): the fields that follow the one being diffed, one tail per
// struct it is in, which a keyed list's diff looks at (lastChange).
type diffCtx struct {
	tails   []tail
	changes *Changes // where to note the elements that differ, or nil
}

// tail is the later fields of a struct being diffed: plan p from index
// next, in the structs at old and cur.
type tail struct {
	p        *Plan
	old, cur unsafe.Pointer
	next     int
}

var diffCtxs = sync.Pool{New: func() any { return new(diffCtx) }}

// restSame reports whether everything after the field being diffed
// encodes alike in both values.
func (c *diffCtx) restSame() bool {
	for _, t := range c.tails {
		for i := t.next; i < len(t.p.fields); i++ {
			f := &t.p.fields[i]
			if !f.same(unsafe.Add(t.old, f.off), unsafe.Add(t.cur, f.off)) {
				return false
			}
		}
	}
	return true
}

// same reports whether the field encodes alike at a and b.
func (f *field) same(a, b unsafe.Pointer) bool {
	pa := f.present(a)
	switch {
	case pa != f.present(b):
		return false
	case !pa:
		return true
	case f.list != nil:
		ha, hb := (*header)(a), (*header)(b)
		if (ha.data == nil) != (hb.data == nil) || ha.len != hb.len {
			return false
		}
		for i := range ha.len {
			if !f.list.sameValue(f.list.elem(ha, i), f.list.elem(hb, i)) {
				return false
			}
		}
		return true
	case f.dict != nil:
		return f.dict.same(a, b)
	case f.ops == nil:
		return f.sub.same(a, b)
	}
	return f.ops.same(a, b)
}

// appendIndexOp appends the start of an operation on path/i, up to the
// closing brace (a remove) or the comma before the value.
func appendIndexOp(dst []byte, op, path string, i int) []byte {
	dst = append(dst, `,{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","path":"`...)
	dst = append(dst, path...)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, '"')
	if op != "remove" {
		dst = append(dst, `,"value":`...)
	}
	return dst
}

// appendElemChange appends the operations turning the element at ea into
// the different one at eb, at path/i.
func (l *list) appendElemChange(dst []byte, ea, eb unsafe.Pointer, path string, i int) ([]byte, error) {
	if l.sub != nil {
		return l.sub.appendOps(dst, ea, eb, path+"/"+strconv.Itoa(i), nil)
	}
	dst = appendIndexOp(dst, "replace", path, i)
	dst, err := l.ops.encode(dst, eb)
	return append(dst, '}'), err
}

// hasID reports whether the element at e has an id: its "id" member is
// encoded (an omitempty one may not be).
func (l *list) hasID(e unsafe.Pointer) bool {
	return l.id != nil && l.id.present(unsafe.Add(e, l.id.off))
}

// idKey is the encoding of the id of the element at e, a map key.
func (l *list) idKey(buf []byte, e unsafe.Pointer) ([]byte, string, error) {
	buf, err := l.id.ops.encode(buf[:0], unsafe.Add(e, l.id.off))
	return buf, string(buf), err
}

// keyed is the text differ's keyed array diff (diff.Tree's), from index p
// on, where the elements at p have different ids: common trailing elements
// (by id) pair up; the others pair by id when the ids of a are unique and
// those of b follow their order, and are removed (from the last) or added
// (at their index) otherwise; paired elements are diffed in place. It
// writes nothing and reports false when an element has no id, ids repeat
// or change order, or (from index 0, with no common tail) no id is shared.
func (l *list) keyed(dst []byte, ha, hb *header, p int, path string) ([]byte, bool, error) {
	na, nb := ha.len-p, hb.len-p
	for i := range na {
		if !l.hasID(l.elem(ha, p+i)) {
			return dst, false, nil
		}
	}
	for j := range nb {
		if !l.hasID(l.elem(hb, p+j)) {
			return dst, false, nil
		}
	}
	sameID := func(x, y unsafe.Pointer) bool { return l.id.ops.same(unsafe.Add(x, l.id.off), unsafe.Add(y, l.id.off)) }
	suf := 0
	for suf < min(na, nb) && sameID(l.elem(ha, ha.len-1-suf), l.elem(hb, hb.len-1-suf)) {
		suf++
	}
	ma, mb := na-suf, nb-suf // the elements before the common tail
	var matchB []int
	var pairedA []bool
	if ma > 0 && mb > 0 {
		var buf []byte
		var key string
		var err error
		index := make(map[string]int, ma)
		for i := range ma {
			if buf, key, err = l.idKey(buf, l.elem(ha, p+i)); err != nil {
				return dst, false, err
			}
			if _, dup := index[key]; dup {
				return dst, false, nil
			}
			index[key] = i
		}
		matchB, pairedA = make([]int, mb), make([]bool, ma)
		last, matched := -1, 0
		for j := range mb {
			if buf, key, err = l.idKey(buf, l.elem(hb, p+j)); err != nil {
				return dst, false, err
			}
			i, found := index[key]
			if !found {
				matchB[j] = -1
				continue
			}
			if i <= last {
				return dst, false, nil // a reorder or a repeated id
			}
			last, matchB[j], pairedA[i] = i, i, true
			matched++
		}
		if p == 0 && suf == 0 && matched == 0 {
			return dst, false, nil // nothing in common: edits in place
		}
	}
	for i := ma - 1; i >= 0; i-- {
		if pairedA == nil || !pairedA[i] {
			dst = appendIndexOp(dst, "remove", path, p+i)
			dst = append(dst, '}')
		}
	}
	var err error
	for j := range nb {
		var av unsafe.Pointer
		switch {
		case j >= mb:
			av = l.elem(ha, p+j-nb+na)
		case matchB != nil && matchB[j] >= 0:
			av = l.elem(ha, p+matchB[j])
		}
		bv := l.elem(hb, p+j)
		switch {
		case av == nil:
			dst = appendIndexOp(dst, "add", path, p+j)
			if dst, err = l.encodeValue(dst, bv); err != nil {
				return dst, true, err
			}
			dst = append(dst, '}')
		case !l.sameValue(av, bv):
			if dst, err = l.appendElemChange(dst, av, bv, path, p+j); err != nil {
				return dst, true, err
			}
		}
	}
	return dst, true, nil
}

// HasLists reports whether values of p's type hold slices or maps: a copy
// of one then shares their arrays and maps until DetachLists.
func (p *Plan) HasLists() bool { return p.lists }

// ErrTextDiff is returned by AppendDiff when a map key is written with
// escapes in JSON: the text differ orders such members in a way the plan
// does not reproduce, so the caller diffs the two encodings instead.
var ErrTextDiff = errors.New("structjson: a map key needs escaping: diff the encodings")

// dict is what a plan does with a map from strings to scalars or plain
// structs: an object whose keys encoding/json sorts; the text differ
// merges two such key lists in order, as AppendDiff does, and walks into
// the values of common keys that are objects. The map is read through
// impl.
type dict struct {
	value // the values'
	impl  dictImpl
}

// dictImpl is the map operations of one value type.
type dictImpl interface {
	isNil(fp unsafe.Pointer) bool
	len(fp unsafe.Pointer) int
	keys(fp unsafe.Pointer, buf []string) []string // in map order
	load(fp unsafe.Pointer, k string, into unsafe.Pointer)
	has(fp unsafe.Pointer, k string) bool
	newValue() unsafe.Pointer // a value to load into
	copyInto(dfp, sfp, into unsafe.Pointer)
	// same reports whether the maps at a and b encode alike: both nil or
	// both not, with the same keys and values that encode alike.
	same(a, b unsafe.Pointer) bool
}

// mapOf is dictImpl for map[string]V; eq reports whether two values
// encode alike.
type mapOf[V comparable] struct{ eq func(x, y V) bool }

func (d mapOf[V]) same(a, b unsafe.Pointer) bool {
	ma, mb := d.m(a), d.m(b)
	if (ma == nil) != (mb == nil) || len(ma) != len(mb) {
		return false
	}
	for k, va := range ma {
		if vb, ok := mb[k]; !ok || !d.eq(va, vb) {
			return false
		}
	}
	return true
}

// eq is == (a mapOf's eq, but for floats).
func eq[V comparable](x, y V) bool { return x == y }

func (mapOf[V]) m(fp unsafe.Pointer) map[string]V { return *(*map[string]V)(fp) }

func (d mapOf[V]) isNil(fp unsafe.Pointer) bool { return d.m(fp) == nil }

func (d mapOf[V]) len(fp unsafe.Pointer) int { return len(d.m(fp)) }

func (d mapOf[V]) keys(fp unsafe.Pointer, buf []string) []string {
	for k := range d.m(fp) {
		buf = append(buf, k)
	}
	return buf
}

func (d mapOf[V]) load(fp unsafe.Pointer, k string, into unsafe.Pointer) { *(*V)(into) = d.m(fp)[k] }

func (d mapOf[V]) has(fp unsafe.Pointer, k string) bool {
	_, ok := d.m(fp)[k]
	return ok
}

func (mapOf[V]) newValue() unsafe.Pointer { return unsafe.Pointer(new(V)) }

// copyInto sets the map at dfp to a copy of the one at sfp, in the map
// into (cleared) when there is one and sfp is not dfp, else in a new one.
func (d mapOf[V]) copyInto(dfp, sfp, into unsafe.Pointer) {
	src := d.m(sfp)
	if src == nil {
		*(*map[string]V)(dfp) = nil
		return
	}
	var m map[string]V
	if into != nil && dfp != sfp {
		m = *(*map[string]V)(unsafe.Pointer(&into))
		clear(m)
	} else {
		m = make(map[string]V, len(src))
	}
	maps.Copy(m, src)
	*(*map[string]V)(dfp) = m
}

// dictImpls are the value types a map of a plan may have.
// Floats encode alike when their bits are equal (see scalar.same).
var dictImpls = map[reflect.Type]dictImpl{
	reflect.TypeFor[bool]():    mapOf[bool]{eq[bool]},
	reflect.TypeFor[string]():  mapOf[string]{eq[string]},
	reflect.TypeFor[int]():     mapOf[int]{eq[int]},
	reflect.TypeFor[int8]():    mapOf[int8]{eq[int8]},
	reflect.TypeFor[int16]():   mapOf[int16]{eq[int16]},
	reflect.TypeFor[int32]():   mapOf[int32]{eq[int32]},
	reflect.TypeFor[int64]():   mapOf[int64]{eq[int64]},
	reflect.TypeFor[uint]():    mapOf[uint]{eq[uint]},
	reflect.TypeFor[uint16]():  mapOf[uint16]{eq[uint16]},
	reflect.TypeFor[uint32]():  mapOf[uint32]{eq[uint32]},
	reflect.TypeFor[uint64]():  mapOf[uint64]{eq[uint64]},
	reflect.TypeFor[float32](): mapOf[float32]{func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }},
	reflect.TypeFor[float64](): mapOf[float64]{func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }},
}

// mapValues is dictImpl for the maps from strings to other value types
// (named scalars, plain structs), through reflection; eq compares two
// values, sub is the plan of struct values.
type mapValues struct {
	typ     reflect.Type
	eq      func(a, b unsafe.Pointer) bool
	sub     *Plan
	scratch *sync.Pool // *mapScratch, of newMapValues
}

// mapScratch is two values and a key to compare map entries in.
type mapScratch struct{ a, b, k reflect.Value }

func newMapValues(t reflect.Type, eq func(a, b unsafe.Pointer) bool, sub *Plan) mapValues {
	return mapValues{typ: t, eq: eq, sub: sub, scratch: &sync.Pool{New: func() any {
		return &mapScratch{a: reflect.New(t.Elem()), b: reflect.New(t.Elem()), k: reflect.New(t.Key()).Elem()}
	}}}
}

// getScratch returns scratch values; putScratch zeroes them (they hold no
// reference to a map's values while pooled) and returns them.
func (d mapValues) getScratch() *mapScratch { return d.scratch.Get().(*mapScratch) }

func (d mapValues) putScratch(sc *mapScratch) {
	sc.a.Elem().SetZero()
	sc.b.Elem().SetZero()
	sc.k.SetZero()
	d.scratch.Put(sc)
}

func (d mapValues) m(fp unsafe.Pointer) reflect.Value { return reflect.NewAt(d.typ, fp).Elem() }

func (d mapValues) isNil(fp unsafe.Pointer) bool { return d.m(fp).IsNil() }

func (d mapValues) len(fp unsafe.Pointer) int { return d.m(fp).Len() }

func (d mapValues) keys(fp unsafe.Pointer, buf []string) []string {
	for it := d.m(fp).MapRange(); it.Next(); {
		buf = append(buf, it.Key().String())
	}
	return buf
}

func (d mapValues) load(fp unsafe.Pointer, k string, into unsafe.Pointer) {
	d.set(into, d.m(fp).MapIndex(reflect.ValueOf(k)))
}

// set stores v (the zero value when v is not valid) at into.
func (d mapValues) set(into unsafe.Pointer, v reflect.Value) {
	dv := reflect.NewAt(d.typ.Elem(), into).Elem()
	if !v.IsValid() {
		dv.SetZero()
		return
	}
	dv.Set(v)
}

func (d mapValues) has(fp unsafe.Pointer, k string) bool {
	return d.m(fp).MapIndex(reflect.ValueOf(k)).IsValid()
}

func (d mapValues) newValue() unsafe.Pointer { return reflect.New(d.typ.Elem()).UnsafePointer() }

// copyInto sets the map at dfp to a copy of the one at sfp, in the map
// into when there is one and sfp is not dfp, else in a new one. Struct
// values get arrays and maps of their own; those of into that encode as
// the values that would replace them stay, with what they own.
func (d mapValues) copyInto(dfp, sfp, into unsafe.Pointer) {
	src := d.m(sfp)
	if src.IsNil() {
		d.m(dfp).SetZero()
		return
	}
	deep := d.sub != nil && d.sub.lists
	reuse := into != nil && dfp != sfp
	var m reflect.Value
	switch {
	case reuse && deep:
		m = reflect.NewAt(d.typ, unsafe.Pointer(&into)).Elem()
		var it reflect.MapIter
		for it.Reset(m); it.Next(); {
			if !src.MapIndex(it.Key()).IsValid() {
				m.SetMapIndex(it.Key(), reflect.Value{})
			}
		}
	case reuse:
		m = reflect.NewAt(d.typ, unsafe.Pointer(&into)).Elem()
		m.Clear()
	default:
		m = reflect.MakeMapWithSize(d.typ, src.Len())
	}
	var it reflect.MapIter
	if !deep {
		for it.Reset(src); it.Next(); {
			m.SetMapIndex(it.Key(), it.Value())
		}
		d.m(dfp).Set(m)
		return
	}
	sc := d.getScratch()
	defer d.putScratch(sc)
	pv, pw, ev, ew := sc.a.UnsafePointer(), sc.b.UnsafePointer(), sc.a.Elem(), sc.b.Elem()
	for it.Reset(src); it.Next(); {
		ev.SetIterValue(&it)
		if reuse {
			if old := m.MapIndex(it.Key()); old.IsValid() {
				ew.Set(old)
				if d.eq(pw, pv) {
					continue
				}
			}
		}
		d.sub.DetachLists(pv)
		m.SetMapIndex(it.Key(), ev)
	}
	d.m(dfp).Set(m)
}

func (d mapValues) same(a, b unsafe.Pointer) bool {
	ma, mb := d.m(a), d.m(b)
	if ma.IsNil() != mb.IsNil() || ma.Len() != mb.Len() {
		return false
	}
	if ma.Len() == 0 {
		return true
	}
	_, ok := d.diff(ma, mb, true)
	return ok
}

// changed returns the keys whose values differ between the maps at a and
// b, unsorted, when both have the same keys; ok is false otherwise.
func (d mapValues) changed(a, b unsafe.Pointer) ([]string, bool) {
	ma, mb := d.m(a), d.m(b)
	if ma.Len() != mb.Len() {
		return nil, false
	}
	return d.diff(ma, mb, false)
}

// diff walks the map ma looking up its keys in mb: it returns the keys
// whose values differ, and false when a key is missing from mb or, with
// first, at the first difference. Each map is looked at once, values are
// compared in two scratch values.
func (d mapValues) diff(ma, mb reflect.Value, first bool) (changed []string, ok bool) {
	sc := d.getScratch()
	defer d.putScratch(sc)
	pa, pb, ea, eb, k := sc.a.UnsafePointer(), sc.b.UnsafePointer(), sc.a.Elem(), sc.b.Elem(), sc.k
	var it reflect.MapIter
	it.Reset(ma)
	for it.Next() {
		k.SetIterKey(&it)
		w := mb.MapIndex(k)
		if !w.IsValid() {
			return nil, false
		}
		ea.SetIterValue(&it)
		eb.Set(w)
		if !d.eq(pa, pb) {
			if first {
				return nil, false
			}
			changed = append(changed, k.String())
		}
	}
	return changed, true
}

// sortedKeys returns the keys of the map at fp, sorted.
func (d *dict) sortedKeys(fp unsafe.Pointer) []string {
	ks := d.impl.keys(fp, make([]string, 0, d.impl.len(fp)))
	slices.Sort(ks)
	return ks
}

// appendJSON appends the encoding of the map at fp, its keys sorted: null
// when it is nil.
func (d *dict) appendJSON(dst []byte, fp unsafe.Pointer) ([]byte, error) {
	if d.impl.isNil(fp) {
		return append(dst, "null"...), nil
	}
	v := d.impl.newValue()
	dst = append(dst, '{')
	for i, k := range d.sortedKeys(fp) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, k, true)
		dst = append(dst, ':')
		d.impl.load(fp, k, v)
		var err error
		if dst, err = d.encodeValue(dst, v); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// same reports whether the maps at a and b encode alike.
func (d *dict) same(a, b unsafe.Pointer) bool { return d.impl.same(a, b) }

// plainKey reports whether k is written in JSON as it is (no escape, no
// replaced byte).
func plainKey(k string) bool { return jsonenc.StringLen(k) == len(k)+2 }

// appendChanges appends the operations turning the non-nil map at a into
// the one at b: their sorted keys merged, a's alone removed, b's alone
// added, the values of common keys diffed. It returns ErrTextDiff when a
// key is not plain.
func (d *dict) appendChanges(dst []byte, a, b unsafe.Pointer, path string) ([]byte, error) {
	va, vb := d.impl.newValue(), d.impl.newValue()
	if changed, ok := d.changedValues(a, b, va, vb); ok {
		// The same keys: the differ pairs them one by one and replaces the
		// changed values, in key order.
		slices.Sort(changed)
		for _, k := range changed {
			if !plainKey(k) {
				return dst, ErrTextDiff
			}
			d.impl.load(a, k, va)
			d.impl.load(b, k, vb)
			var err error
			if dst, err = d.appendChange(dst, path, k, va, vb); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	ka, kb := d.sortedKeys(a), d.sortedKeys(b)
	for _, ks := range [2][]string{ka, kb} {
		for _, k := range ks {
			if !plainKey(k) {
				return dst, ErrTextDiff
			}
		}
	}
	var err error
	for i, j := 0, 0; i < len(ka) || j < len(kb); {
		switch {
		case j == len(kb) || i < len(ka) && ka[i] < kb[j]:
			dst = appendRemove(dst, path+"/", token(ka[i]))
			i++
		case i == len(ka) || kb[j] < ka[i]:
			d.impl.load(b, kb[j], vb)
			dst = append(dst, `,{"op":"add","path":`...)
			dst = appendPath(dst, path+"/", token(kb[j]))
			dst = append(dst, `,"value":`...)
			if dst, err = d.encodeValue(dst, vb); err != nil {
				return dst, err
			}
			dst = append(dst, '}')
			j++
		default:
			d.impl.load(a, ka[i], va)
			d.impl.load(b, kb[j], vb)
			if !d.sameValue(va, vb) {
				if dst, err = d.appendChange(dst, path, kb[j], va, vb); err != nil {
					return dst, err
				}
			}
			i, j = i+1, j+1
		}
	}
	return dst, nil
}

// changedValues returns the keys whose values differ between the maps at
// a and b, unsorted, when both have the same keys; ok is false otherwise.
// va and vb are scratch values.
func (d *dict) changedValues(a, b, va, vb unsafe.Pointer) (changed []string, ok bool) {
	if mv, isValues := d.impl.(mapValues); isValues {
		return mv.changed(a, b)
	}
	if d.impl.len(a) != d.impl.len(b) {
		return nil, false
	}
	for _, k := range d.impl.keys(a, nil) {
		if !d.impl.has(b, k) {
			return nil, false
		}
		d.impl.load(a, k, va)
		d.impl.load(b, k, vb)
		if !d.sameValue(va, vb) {
			changed = append(changed, k)
		}
	}
	return changed, true
}

// pointerToken escapes a name into a JSON pointer segment (RFC 6901).
var pointerToken = strings.NewReplacer("~", "~0", "/", "~1")

// token is the JSON pointer segment of a plain key.
func token(k string) string { return pointerToken.Replace(k) }

// appendChange appends the operations turning the value of key k at va
// into the different one at vb: its replacement, or the changes of the
// struct's fields, as the differ walks into two objects.
func (d *dict) appendChange(dst []byte, path, k string, va, vb unsafe.Pointer) ([]byte, error) {
	if d.sub != nil {
		return d.sub.appendOps(dst, va, vb, path+"/"+token(k), nil)
	}
	dst = append(dst, `,{"op":"replace","path":`...)
	dst = appendPath(dst, path+"/", token(k))
	dst = append(dst, `,"value":`...)
	dst, err := d.ops.encode(dst, vb)
	return append(dst, '}'), err
}

// DetachLists gives every slice of the struct at v an array of its own, a
// copy of the one it had (a nil slice stays nil): after an assignment, the
// copy then shares nothing with the original.
func (p *Plan) DetachLists(v unsafe.Pointer) { p.CopyLists(v, v, nil) }

// Arrays is the headers of the slices of the struct at v, appended to buf
// in the order CopyLists takes them: the arrays a later copy can reuse.
func (p *Plan) Arrays(v unsafe.Pointer, buf []Array) []Array {
	for i := range p.fields {
		f := &p.fields[i]
		switch {
		case f.list != nil:
			buf = append(buf, Array{*(*header)(unsafe.Add(v, f.off))})
		case f.dict != nil:
			buf = append(buf, Array{header{data: *(*unsafe.Pointer)(unsafe.Add(v, f.off))}})
		case f.sub != nil && f.sub.lists:
			buf = f.sub.Arrays(unsafe.Add(v, f.off), buf)
		}
	}
	return buf
}

// Array is the header of a slice that [Plan.Arrays] found.
type Array struct{ h header }

// CopyLists gives every slice of the struct at dst a copy of the elements
// of the same slice at src (dst == src for DetachLists), in the array of
// reuse that stands for it (from Arrays, arrays that src does not share)
// when that is large enough, else in a new one; a nil slice stays nil. It
// returns what is left of reuse.
func (p *Plan) CopyLists(dst, src unsafe.Pointer, reuse []Array) []Array {
	return p.CopyListsNoted(dst, src, reuse, nil)
}

// CopyListsNoted is CopyLists after an AppendDiffNoting from the value
// whose arrays reuse holds to the one at src, with its changes ch: of a
// list noted there, only the elements that differ are copied.
func (p *Plan) CopyListsNoted(dst, src unsafe.Pointer, reuse []Array, ch *Changes) []Array {
	for i := range p.fields {
		f := &p.fields[i]
		switch {
		case f.list != nil:
			var into header
			if len(reuse) > 0 {
				into, reuse = reuse[0].h, reuse[1:]
			}
			f.list.copyInto(unsafe.Add(dst, f.off), unsafe.Add(src, f.off), into, ch)
		case f.dict != nil:
			var into unsafe.Pointer
			if len(reuse) > 0 {
				into, reuse = reuse[0].h.data, reuse[1:]
			}
			f.dict.impl.copyInto(unsafe.Add(dst, f.off), unsafe.Add(src, f.off), into)
		case f.sub != nil && f.sub.lists:
			reuse = f.sub.CopyListsNoted(unsafe.Add(dst, f.off), unsafe.Add(src, f.off), reuse, ch)
		}
	}
	return reuse
}

// copyInto sets the slice at dfp to a copy of the one at sfp, in into's
// array when it is large enough (and sfp is not dfp), else in a new one.
// The copies are typed (reflect.Copy): elements may hold strings. The
// slices and maps of the elements are copied too, into new arrays and
// maps, but for the elements of into's array that encode as the ones that
// would replace them: those stay, with the arrays and maps they own. When
// ch noted the list's changes, those are the elements that differ; the
// others are not compared again.
func (l *list) copyInto(dfp, sfp unsafe.Pointer, into header, ch *Changes) {
	sv := reflect.NewAt(l.typ, sfp).Elem()
	if sv.IsNil() {
		*(*header)(dfp) = header{}
		return
	}
	n := sv.Len()
	dv := reflect.NewAt(l.typ, dfp).Elem()
	deep := l.sub != nil && l.sub.lists
	h, sh := (*header)(dfp), (*header)(sfp)
	if into.data != nil && into.cap >= n && dfp != sfp {
		*h = header{into.data, n, into.cap}
		if !deep {
			reflect.Copy(dv, sv)
			return
		}
		if changed, ok := ch.find(into.data, n); ok && into.len == n {
			for _, i := range changed {
				dv.Index(i).Set(sv.Index(i))
				l.sub.DetachLists(l.elem(h, i))
			}
			return
		}
		for i := range n {
			if i < into.len && l.sub.same(l.elem(h, i), l.elem(sh, i)) {
				continue
			}
			dv.Index(i).Set(sv.Index(i))
			l.sub.DetachLists(l.elem(h, i))
		}
		return
	}
	c := reflect.MakeSlice(l.typ, n, n)
	reflect.Copy(c, sv)
	dv.Set(c)
	if deep {
		for i := range n {
			l.sub.DetachLists(l.elem(h, i))
		}
	}
}

// scalar is what a plan does with a field of one scalar kind.
type scalar struct {
	encode func(dst []byte, p unsafe.Pointer) ([]byte, error)
	empty  func(p unsafe.Pointer) bool // for omitempty
	// same reports whether two values encode alike. Floats compare by
	// their bits: distinct values have distinct shortest forms, 0 and -0
	// included ("0", "-0"), and NaN is not encoded at all.
	same func(a, b unsafe.Pointer) bool
}

// scalars holds the operations of each scalar kind encoding/json writes as
// a JSON boolean, number or string.
var scalars = map[reflect.Kind]*scalar{
	reflect.Bool: {
		encode: func(dst []byte, p unsafe.Pointer) ([]byte, error) { return strconv.AppendBool(dst, *(*bool)(p)), nil },
		empty:  func(p unsafe.Pointer) bool { return !*(*bool)(p) },
		same:   equal[bool],
	},
	reflect.String: {
		encode: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return jsonenc.AppendString(dst, *(*string)(p), true), nil
		},
		empty: zero[string],
		same:  equal[string],
	},
	reflect.Int:     signed[int](),
	reflect.Int8:    signed[int8](),
	reflect.Int16:   signed[int16](),
	reflect.Int32:   signed[int32](),
	reflect.Int64:   signed[int64](),
	reflect.Uint:    unsigned[uint](),
	reflect.Uint8:   unsigned[uint8](),
	reflect.Uint16:  unsigned[uint16](),
	reflect.Uint32:  unsigned[uint32](),
	reflect.Uint64:  unsigned[uint64](),
	reflect.Uintptr: unsigned[uintptr](),
	reflect.Float32: {
		encode: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return appendFloat(dst, float64(*(*float32)(p)), 32)
		},
		empty: zero[float32],
		same:  equal[uint32],
	},
	reflect.Float64: {
		encode: func(dst []byte, p unsafe.Pointer) ([]byte, error) { return appendFloat(dst, *(*float64)(p), 64) },
		empty:  zero[float64],
		same:   equal[uint64],
	},
}

func signed[T int | int8 | int16 | int32 | int64]() *scalar {
	return &scalar{
		encode: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return strconv.AppendInt(dst, int64(*(*T)(p)), 10), nil
		},
		empty: zero[T],
		same:  equal[T],
	}
}

func unsigned[T uint | uint8 | uint16 | uint32 | uint64 | uintptr]() *scalar {
	return &scalar{
		encode: func(dst []byte, p unsafe.Pointer) ([]byte, error) {
			return strconv.AppendUint(dst, uint64(*(*T)(p)), 10), nil
		},
		empty: zero[T],
		same:  equal[T],
	}
}

// zero reports whether the T at p is its zero value (== 0, so -0.0 too).
func zero[T comparable](p unsafe.Pointer) bool {
	var z T
	return *(*T)(p) == z
}

// equal reports whether the Ts at a and b are equal.
func equal[T comparable](a, b unsafe.Pointer) bool { return *(*T)(a) == *(*T)(b) }

// appendFloat writes f as encoding/json does: the shortest representation,
// in exponent form below 1e-6 and from 1e21 on, with a one-digit negative
// exponent written without its leading zero.
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, ErrUnsupportedValue
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) || bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// AppendDiff appends the RFC 6902 patch from the struct at old to the one
// at cur, as a JSON array; nothing when they encode alike.
func (p *Plan) AppendDiff(dst []byte, old, cur unsafe.Pointer) ([]byte, error) {
	return p.AppendDiffNoting(dst, old, cur, nil)
}

// Changes is what an AppendDiffNoting found of the lists whose elements
// hold slices or maps: which elements differ, so that CopyListsNoted copies
// only those. Its zero value is ready to use; reuse it from diff to diff.
type Changes struct {
	lists []changedList
	idx   []int // the indices of every changedList, in order
}

// changedList is a list diffed index by index, in full, between two
// slices of n elements each: old's array and the indices in
// Changes.idx[from:to] of the elements that differ.
type changedList struct {
	old      unsafe.Pointer
	n        int
	from, to int
}

// find returns the changes noted of the list whose old array was data, of
// n elements, and whether there are.
func (ch *Changes) find(data unsafe.Pointer, n int) ([]int, bool) {
	if ch == nil || data == nil {
		return nil, false
	}
	for _, l := range ch.lists {
		if l.old == data && l.n == n {
			return ch.idx[l.from:l.to], true
		}
	}
	return nil, false
}

// AppendDiffNoting is AppendDiff that also notes in ch (reset first; nil:
// nothing noted) which elements differ in the lists of elements holding
// slices or maps that it diffs index by index.
func (p *Plan) AppendDiffNoting(dst []byte, old, cur unsafe.Pointer, ch *Changes) ([]byte, error) {
	n := len(dst)
	var c *diffCtx
	if ch != nil {
		clear(ch.lists)
		ch.lists, ch.idx = ch.lists[:0], ch.idx[:0]
	}
	if p.keyed || ch != nil && p.lists {
		c = diffCtxs.Get().(*diffCtx)
		c.changes = ch
		defer func() {
			clear(c.tails[:cap(c.tails)])
			c.tails, c.changes = c.tails[:0], nil
			diffCtxs.Put(c)
		}()
	}
	dst, err := p.appendOps(dst, old, cur, "", c)
	if err != nil || len(dst) == n {
		return dst, err
	}
	dst[n] = '['
	return append(dst, ']'), nil
}

// appendOps appends the operations of the changed fields, each with a
// leading comma, their paths under prefix. The order is the text differ's:
// members are paired in order until the encoded keys differ (a field with
// omitempty present on one side only); the rest is merged by key when both
// sides' remaining keys are sorted, otherwise the removals come first and
// then the other members in the new order.
func (p *Plan) appendOps(dst []byte, old, cur unsafe.Pointer, prefix string, c *diffCtx) ([]byte, error) {
	var err error
	i := 0
	for ; i < len(p.fields); i++ {
		f := &p.fields[i]
		a, b := unsafe.Add(old, f.off), unsafe.Add(cur, f.off)
		if f.ops != nil && !f.omitEmpty { // a scalar always encoded: the common case
			if !f.ops.same(a, b) {
				if dst, err = f.appendOp(dst, "replace", b, prefix); err != nil {
					return dst, err
				}
			}
			continue
		}
		pa, pb := f.present(a), f.present(b)
		if pa != pb {
			break
		}
		if pa {
			if dst, err = p.change(dst, i, old, cur, prefix, c); err != nil {
				return dst, err
			}
		}
	}
	if i == len(p.fields) {
		return dst, nil
	}
	rest := p.fields[i:]
	if sortedKeys(rest, old) && sortedKeys(rest, cur) {
		ia, ib := next(rest, old, 0), next(rest, cur, 0)
		for ia < len(rest) || ib < len(rest) {
			switch {
			case ib == len(rest) || ia < len(rest) && rest[ia].name < rest[ib].name:
				dst = appendRemove(dst, prefix, rest[ia].path)
				ia = next(rest, old, ia+1)
			case ia == len(rest) || rest[ib].name < rest[ia].name:
				f := &rest[ib]
				if dst, err = f.appendOp(dst, "add", unsafe.Add(cur, f.off), prefix); err != nil {
					return dst, err
				}
				ib = next(rest, cur, ib+1)
			default:
				if dst, err = p.change(dst, i+ia, old, cur, prefix, c); err != nil {
					return dst, err
				}
				ia, ib = next(rest, old, ia+1), next(rest, cur, ib+1)
			}
		}
		return dst, nil
	}
	for j := range rest {
		f := &rest[j]
		if f.present(unsafe.Add(old, f.off)) && !f.present(unsafe.Add(cur, f.off)) {
			dst = appendRemove(dst, prefix, f.path)
		}
	}
	for j := range rest {
		f := &rest[j]
		a, b := unsafe.Add(old, f.off), unsafe.Add(cur, f.off)
		switch {
		case !f.present(b):
		case f.present(a):
			dst, err = p.change(dst, i+j, old, cur, prefix, c)
		default:
			dst, err = f.appendOp(dst, "add", b, prefix)
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// change is appendChange of field i of p, with the fields after it in c
// while it runs when it holds keyed lists (c is nil for plans without).
func (p *Plan) change(dst []byte, i int, old, cur unsafe.Pointer, prefix string, c *diffCtx) ([]byte, error) {
	f := &p.fields[i]
	a, b := unsafe.Add(old, f.off), unsafe.Add(cur, f.off)
	if c == nil || (f.list == nil || f.list.id == nil) && (f.sub == nil || !f.sub.keyed) {
		return f.appendChange(dst, a, b, prefix, c)
	}
	c.tails = append(c.tails, tail{p, old, cur, i + 1})
	dst, err := f.appendChange(dst, a, b, prefix, c)
	c.tails = c.tails[:len(c.tails)-1]
	return dst, err
}

// present reports whether the field at fp is encoded.
func (f *field) present(fp unsafe.Pointer) bool {
	switch {
	case !f.omitEmpty:
		return true
	case f.list != nil:
		return (*header)(fp).len != 0
	case f.dict != nil:
		return f.dict.impl.len(fp) != 0
	}
	return f.ops == nil || !f.ops.empty(fp) // structs are never empty
}

// next returns the index of the first field from i on that is encoded in
// the struct at v, or len(fs).
func next(fs []field, v unsafe.Pointer, i int) int {
	for i < len(fs) && !fs[i].present(unsafe.Add(v, fs[i].off)) {
		i++
	}
	return i
}

// sortedKeys reports whether the keys of fs encoded in the struct at v are
// strictly increasing.
func sortedKeys(fs []field, v unsafe.Pointer) bool {
	last := -1
	for i := next(fs, v, 0); i < len(fs); i = next(fs, v, i+1) {
		if last >= 0 && fs[i].name <= fs[last].name {
			return false
		}
		last = i
	}
	return true
}

// appendChange appends the operations turning the field's value at a into
// the one at b, both encoded.
func (f *field) appendChange(dst []byte, a, b unsafe.Pointer, prefix string, c *diffCtx) ([]byte, error) {
	if f.list != nil {
		switch na, nb := (*header)(a).data == nil, (*header)(b).data == nil; {
		case na && nb:
			return dst, nil
		case na != nb: // null and an array
			return f.appendOp(dst, "replace", b, prefix)
		}
		return f.list.appendChanges(dst, a, b, prefix+f.path, c)
	}
	if f.dict != nil {
		switch na, nb := f.dict.impl.isNil(a), f.dict.impl.isNil(b); {
		case na && nb:
			return dst, nil
		case na != nb: // null and an object
			return f.appendOp(dst, "replace", b, prefix)
		}
		return f.dict.appendChanges(dst, a, b, prefix+f.path)
	}
	if f.ops == nil {
		return f.sub.appendOps(dst, a, b, prefix+f.path, c)
	}
	if f.ops.same(a, b) {
		return dst, nil
	}
	return f.appendOp(dst, "replace", b, prefix)
}

// appendOp appends an operation setting the field to its value at fp.
func (f *field) appendOp(dst []byte, op string, fp unsafe.Pointer, prefix string) ([]byte, error) {
	dst = append(dst, `,{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","path":`...)
	dst = appendPath(dst, prefix, f.path)
	dst = append(dst, `,"value":`...)
	dst, err := f.appendValue(dst, fp)
	return append(dst, '}'), err
}

func appendRemove(dst []byte, prefix, seg string) []byte {
	dst = append(dst, `,{"op":"remove","path":`...)
	dst = appendPath(dst, prefix, seg)
	return append(dst, '}')
}

// appendPath appends prefix+seg as a JSON string (the segments are escaped
// JSON pointer segments of simple names: nothing to escape in JSON).
func appendPath(dst []byte, prefix, seg string) []byte {
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	dst = append(dst, seg...)
	return append(dst, '"')
}
