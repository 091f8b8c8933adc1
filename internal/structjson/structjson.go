// Package structjson encodes and diffs values of plain struct types without
// encoding/json: a struct whose encoded fields are booleans, integers,
// floats, strings, plain structs, or slices of the scalars or of plain
// structs that have neither slices nor an "id" member, with no custom
// marshalling. A synced state of such a type is diffed field by field
// against its last synced copy instead of being encoded and diffed as text.
// Apart from its slices such a value holds no reference: a Go assignment
// followed by [Plan.DetachLists] is a deep copy.
//
// The encoding is byte for byte what encoding/json's Encoder writes (HTML
// escaped), and a diff is the RFC 6902 patch the text differ of package diff
// computes between the two encodings: one operation per changed leaf, in
// document order; a field with omitempty that becomes empty is removed, one
// that stops being empty is added.
package structjson

import (
	"errors"
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
	lists  bool // a field holds a slice, or a struct that does
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
}

// list is what a plan does with a slice: its elements are scalars (ops) or
// plain structs without slices or an "id" member (sub). The text differ
// compares such arrays index by index (an "id" would make it pair the
// elements by id instead), as AppendDiff does.
type list struct {
	typ  reflect.Type // the slice type
	size uintptr      // of an element
	ops  *scalar
	sub  *Plan
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
		case reflect.Slice:
			if f.list = buildList(sf.Type, depth+1); f.list == nil {
				return nil
			}
			p.lists = true
		default:
			if f.ops = scalars[sf.Type.Kind()]; f.ops == nil {
				return nil // pointers, maps, interfaces, arrays…
			}
		}
		f.key = string(jsonenc.AppendString(nil, name, true)) + ":"
		f.path = "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
		p.fields = append(p.fields, f)
	}
	return p
}

// buildList returns the list of the slice type t, or nil when its elements
// are not scalars or plain structs without slices or an "id" member.
// []byte (any element of kind uint8) is left out: encoding/json writes it
// in base64.
func buildList(t reflect.Type, depth int) *list {
	e := t.Elem()
	if custom(e) || e.Kind() == reflect.Uint8 {
		return nil
	}
	l := &list{typ: t, size: e.Size()}
	if e.Kind() == reflect.Struct {
		if l.sub = build(e, depth); l.sub == nil || l.sub.lists || slices.ContainsFunc(l.sub.fields, func(f field) bool { return f.name == "id" }) {
			return nil
		}
		return l
	}
	if l.ops = scalars[e.Kind()]; l.ops == nil {
		return nil
	}
	return l
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
		if dst, err = l.appendElem(dst, l.elem(h, i)); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func (l *list) appendElem(dst []byte, ep unsafe.Pointer) ([]byte, error) {
	if l.sub != nil {
		return l.sub.AppendJSON(dst, ep)
	}
	return l.ops.encode(dst, ep)
}

// sameElem reports whether the elements at a and b encode alike.
func (l *list) sameElem(a, b unsafe.Pointer) bool {
	if l.sub != nil {
		return l.sub.same(a, b)
	}
	return l.ops.same(a, b)
}

// same reports whether the structs at a and b encode alike (a plan of list
// elements: its fields are scalars and structs).
func (p *Plan) same(a, b unsafe.Pointer) bool {
	for i := range p.fields {
		f := &p.fields[i]
		fa, fb := unsafe.Add(a, f.off), unsafe.Add(b, f.off)
		pa := f.present(fa)
		switch {
		case pa != f.present(fb):
			return false
		case !pa:
		case f.ops == nil:
			if !f.sub.same(fa, fb) {
				return false
			}
		case !f.ops.same(fa, fb):
			return false
		}
	}
	return true
}

// appendChanges appends the operations turning the non-nil slice at a into
// the one at b, as the text differ writes them for arrays without ids:
// the common elements index by index, then the removal of a's extra ones
// from the last, then b's extra ones appended ("/-").
func (l *list) appendChanges(dst []byte, a, b unsafe.Pointer, path string) ([]byte, error) {
	ha, hb := (*header)(a), (*header)(b)
	var err error
	for i := range min(ha.len, hb.len) {
		ea, eb := l.elem(ha, i), l.elem(hb, i)
		if l.sameElem(ea, eb) {
			continue
		}
		if l.sub != nil {
			dst, err = l.sub.appendOps(dst, ea, eb, path+"/"+strconv.Itoa(i))
		} else {
			dst = append(dst, `,{"op":"replace","path":"`...)
			dst = append(dst, path...)
			dst = append(dst, '/')
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, `","value":`...)
			dst, err = l.ops.encode(dst, eb)
			dst = append(dst, '}')
		}
		if err != nil {
			return dst, err
		}
	}
	for i := ha.len - 1; i >= hb.len; i-- {
		dst = append(dst, `,{"op":"remove","path":"`...)
		dst = append(dst, path...)
		dst = append(dst, '/')
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `"}`...)
	}
	for i := ha.len; i < hb.len; i++ {
		dst = append(dst, `,{"op":"add","path":`...)
		dst = appendPath(dst, path, "/-")
		dst = append(dst, `,"value":`...)
		if dst, err = l.appendElem(dst, l.elem(hb, i)); err != nil {
			return dst, err
		}
		dst = append(dst, '}')
	}
	return dst, nil
}

// HasLists reports whether values of p's type hold slices: a copy of one
// then shares their arrays until DetachLists.
func (p *Plan) HasLists() bool { return p.lists }

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
	for i := range p.fields {
		f := &p.fields[i]
		switch {
		case f.list != nil:
			var into header
			if len(reuse) > 0 {
				into, reuse = reuse[0].h, reuse[1:]
			}
			f.list.copyInto(unsafe.Add(dst, f.off), unsafe.Add(src, f.off), into)
		case f.sub != nil && f.sub.lists:
			reuse = f.sub.CopyLists(unsafe.Add(dst, f.off), unsafe.Add(src, f.off), reuse)
		}
	}
	return reuse
}

// copyInto sets the slice at dfp to a copy of the one at sfp, in into's
// array when it is large enough (and sfp is not dfp), else in a new one.
// The copies are typed (reflect.Copy): elements may hold strings.
func (l *list) copyInto(dfp, sfp unsafe.Pointer, into header) {
	sv := reflect.NewAt(l.typ, sfp).Elem()
	if sv.IsNil() {
		*(*header)(dfp) = header{}
		return
	}
	n := sv.Len()
	dv := reflect.NewAt(l.typ, dfp).Elem()
	if into.data != nil && into.cap >= n && dfp != sfp {
		*(*header)(dfp) = header{into.data, n, into.cap}
		reflect.Copy(dv, sv)
		return
	}
	c := reflect.MakeSlice(l.typ, n, n)
	reflect.Copy(c, sv)
	dv.Set(c)
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
	n := len(dst)
	dst, err := p.appendOps(dst, old, cur, "")
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
func (p *Plan) appendOps(dst []byte, old, cur unsafe.Pointer, prefix string) ([]byte, error) {
	var err error
	i := 0
	for ; i < len(p.fields); i++ {
		f := &p.fields[i]
		a, b := unsafe.Add(old, f.off), unsafe.Add(cur, f.off)
		pa, pb := f.present(a), f.present(b)
		if pa != pb {
			break
		}
		if pa {
			if dst, err = f.appendChange(dst, a, b, prefix); err != nil {
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
				f := &rest[ia]
				if dst, err = f.appendChange(dst, unsafe.Add(old, f.off), unsafe.Add(cur, f.off), prefix); err != nil {
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
			dst, err = f.appendChange(dst, a, b, prefix)
		default:
			dst, err = f.appendOp(dst, "add", b, prefix)
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// present reports whether the field at fp is encoded.
func (f *field) present(fp unsafe.Pointer) bool {
	switch {
	case !f.omitEmpty:
		return true
	case f.list != nil:
		return (*header)(fp).len != 0
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
func (f *field) appendChange(dst []byte, a, b unsafe.Pointer, prefix string) ([]byte, error) {
	if f.list != nil {
		switch na, nb := (*header)(a).data == nil, (*header)(b).data == nil; {
		case na && nb:
			return dst, nil
		case na != nb: // null and an array
			return f.appendOp(dst, "replace", b, prefix)
		}
		return f.list.appendChanges(dst, a, b, prefix+f.path)
	}
	if f.ops == nil {
		return f.sub.appendOps(dst, a, b, prefix+f.path)
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
