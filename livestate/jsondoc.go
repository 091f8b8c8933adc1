package livestate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrNotFound is returned (wrapped) by [Doc] methods whose JSON pointer
// names no value.
var ErrNotFound = errors.New("livestate: no value at JSON pointer")

// Doc is a JSON document that records its edits: every Set, Insert and
// Remove appends an RFC 6902 operation to a pending patch, which the
// LiveState channel takes after each callback ([PatchRecorder]) and sends
// as is. Syncing a Doc therefore costs what the change costs: the state is
// neither encoded whole nor diffed, however large it is. Use it, as
// Channel[*Doc] or SharedChannel[*Doc], for large states changed a little
// at a time; for ordinary states a Go struct is simpler and fast enough.
//
// Locations are RFC 6901 JSON pointers: "" is the whole document,
// "/todos/3/title" a member of an element; in a token "~" is written "~0"
// and "/" "~1" ([Pointer] builds them). Values are copied into the document
// through encoding/json (struct tags and json.Marshaler apply), so the
// document owns everything it holds and later changes to a value passed to
// Set do not reach it. Numbers keep the text encoding/json gave them.
//
// The whole document is encoded only for a client that needs all of it (a
// join, a refresh) or when the pending patch would be as large as the
// document itself; the document keeps its encoded size up to date for that
// comparison.
//
// A Doc is not safe for concurrent use; the channel's callbacks, which run
// one at a time per channel (per topic for shared channels), may use the
// state they are given. The zero Doc holds null.
type Doc struct {
	root     any
	size     int    // len of the document's encoding (0 means the zero Doc: null)
	ops      []byte // pending operations, each with a leading comma
	overflow bool   // the pending patch outgrew the document and was dropped

	// While a shared channel's callback runs (checkpoint to TakePatch),
	// every edit also records how to undo it, so that a panicking handler's
	// half-made change can be rolled back.
	undoing bool
	undo    []undoStep
	mark    docMark
}

// docMark is what a checkpoint saves besides the undo steps.
type docMark struct {
	size     int
	ops      int
	overflow bool
}

// undoStep reverses one edit.
type undoStep struct {
	kind   undoKind
	parent any // map[string]any or *jarray; nil for the root
	key    string
	index  int
	old    any
	had    bool // the object member existed
}

type undoKind uint8

const (
	undoRoot     undoKind = iota // restore the root
	undoMember                   // restore (or delete) an object member
	undoElement                  // restore an array element
	undoInserted                 // remove the element inserted at index
	undoRemoved                  // insert old back at index
)

// checkpoint starts recording undo steps; TakePatch or rollback ends it.
func (d *Doc) checkpoint() {
	d.undoing = true
	d.undo = d.undo[:0]
	d.mark = docMark{size: d.size, ops: len(d.ops), overflow: d.overflow}
}

// rollback undoes every edit since checkpoint, pending patch included.
func (d *Doc) rollback() {
	if !d.undoing {
		return
	}
	for i := len(d.undo) - 1; i >= 0; i-- {
		u := d.undo[i]
		switch u.kind {
		case undoRoot:
			d.root = u.old
		case undoMember:
			m := u.parent.(map[string]any)
			if u.had {
				m[u.key] = u.old
			} else {
				delete(m, u.key)
			}
		case undoElement:
			u.parent.(*jarray).items[u.index] = u.old
		case undoInserted:
			a := u.parent.(*jarray)
			copy(a.items[u.index:], a.items[u.index+1:])
			a.items[len(a.items)-1] = nil
			a.items = a.items[:len(a.items)-1]
		case undoRemoved:
			a := u.parent.(*jarray)
			a.items = append(a.items, nil)
			copy(a.items[u.index+1:], a.items[u.index:])
			a.items[u.index] = u.old
		}
	}
	d.size = d.mark.size
	if d.mark.ops == 0 || !d.overflow || d.mark.overflow {
		d.ops = d.ops[:d.mark.ops]
	} else {
		// The operations before the checkpoint were dropped with the
		// overflow: the document will be sent whole.
		d.ops = d.ops[:0]
		d.mark.overflow = true
	}
	d.overflow = d.mark.overflow
	d.endUndo()
}

func (d *Doc) endUndo() {
	clear(d.undo)
	d.undo = d.undo[:0]
	d.undoing = false
}

func (d *Doc) saveUndo(u undoStep) {
	if d.undoing {
		d.undo = append(d.undo, u)
	}
}

// NewDoc returns a document holding the JSON encoding of v (a
// json.RawMessage is taken as JSON text).
func NewDoc(v any) (*Doc, error) {
	node, _, err := normalize(v)
	if err != nil {
		return nil, err
	}
	return &Doc{root: node, size: treeLen(node)}, nil
}

// Pointer builds an RFC 6901 JSON pointer from reference tokens: strings
// are escaped ("~" as "~0", "/" as "~1"), integers written in decimal, other
// values with fmt.Sprint. Pointer() is "", the whole document.
func Pointer(tokens ...any) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		switch t := t.(type) {
		case string:
			writeToken(&b, t)
		case int:
			b.WriteString(strconv.Itoa(t))
		default:
			writeToken(&b, fmt.Sprint(t))
		}
	}
	return b.String()
}

func writeToken(b *strings.Builder, t string) {
	if !strings.ContainsAny(t, "~/") {
		b.WriteString(t)
		return
	}
	for _, c := range []byte(t) {
		switch c {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteByte(c)
		}
	}
}

// parsePointer splits an RFC 6901 pointer into unescaped tokens.
func parsePointer(ptr string) ([]string, error) {
	if ptr == "" {
		return nil, nil
	}
	if ptr[0] != '/' {
		return nil, fmt.Errorf("livestate: invalid JSON pointer %q: it must be empty or start with /", ptr)
	}
	toks := strings.Split(ptr[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("livestate: invalid JSON pointer %q: ~ must be followed by 0 or 1", ptr)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// arrayIndex parses an array index token (no leading zeros, no sign).
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 1 && tok[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil
}

func notFound(ptr string) error { return fmt.Errorf("livestate: %q: %w", ptr, ErrNotFound) }

// lookup returns the value the tokens name.
func (d *Doc) lookup(ptr string, toks []string) (any, error) {
	cur := d.root
	for _, t := range toks {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[t]
			if !ok {
				return nil, notFound(ptr)
			}
			cur = v
		case *jarray:
			i, ok := arrayIndex(t)
			if !ok || i >= len(c.items) {
				return nil, notFound(ptr)
			}
			cur = c.items[i]
		default:
			return nil, notFound(ptr)
		}
	}
	return cur, nil
}

// parent returns the container holding the last token, and that token.
func (d *Doc) parent(ptr string) (container any, last string, err error) {
	toks, err := parsePointer(ptr)
	if err != nil {
		return nil, "", err
	}
	if len(toks) == 0 {
		return nil, "", nil
	}
	c, err := d.lookup(ptr, toks[:len(toks)-1])
	if err != nil {
		return nil, "", err
	}
	switch c.(type) {
	case map[string]any, *jarray:
		return c, toks[len(toks)-1], nil
	}
	return nil, "", fmt.Errorf("livestate: %q: %w (its parent is not an object or an array)", ptr, ErrNotFound)
}

func (d *Doc) node(ptr string) (any, error) {
	toks, err := parsePointer(ptr)
	if err != nil {
		return nil, err
	}
	return d.lookup(ptr, toks)
}

// Get returns a copy of the value at ptr as encoding/json decodes into an
// any, except that numbers are json.Number: map[string]any, []any, string,
// json.Number, bool or nil.
func (d *Doc) Get(ptr string) (any, error) {
	v, err := d.node(ptr)
	if err != nil {
		return nil, err
	}
	return export(v), nil
}

// Decode decodes the value at ptr into v with encoding/json.
func (d *Doc) Decode(ptr string, v any) error {
	n, err := d.node(ptr)
	if err != nil {
		return err
	}
	return json.Unmarshal(appendTree(nil, n), v)
}

// Has reports whether ptr names a value.
func (d *Doc) Has(ptr string) bool {
	_, err := d.node(ptr)
	return err == nil
}

// Len returns the number of elements of the array or members of the object
// at ptr.
func (d *Doc) Len(ptr string) (int, error) {
	v, err := d.node(ptr)
	if err != nil {
		return 0, err
	}
	switch v := v.(type) {
	case *jarray:
		return len(v.items), nil
	case map[string]any:
		return len(v), nil
	}
	return 0, fmt.Errorf("livestate: %q is not an array or an object", ptr)
}

// Size returns the length of the document's JSON encoding.
func (d *Doc) Size() int {
	if d.size == 0 {
		return 4 // null
	}
	return d.size
}

// Set puts v at ptr: it replaces the whole document (""), adds or replaces
// an object member, replaces an array element, or appends to an array when
// the last token is "-" or the array's length. The parent must exist.
func (d *Doc) Set(ptr string, v any) error {
	c, last, err := d.parent(ptr)
	if err != nil {
		return err
	}
	node, text, err := normalize(v)
	if err != nil {
		return err
	}
	n := treeLen(node)
	switch p := c.(type) {
	case nil: // the root
		d.saveUndo(undoStep{kind: undoRoot, old: d.root})
		d.root, d.size = node, n
		d.record("replace", ptr, text)
	case map[string]any:
		op := "replace"
		old, ok := p[last]
		d.saveUndo(undoStep{kind: undoMember, parent: p, key: last, old: old, had: ok})
		if ok {
			d.size += n - treeLen(old)
		} else {
			op = "add"
			d.size = d.Size() + stringLen(last) + 1 + n
			if len(p) > 0 {
				d.size++
			}
		}
		p[last] = node
		d.record(op, ptr, text)
	case *jarray:
		i, ok := arrayIndex(last)
		switch {
		case last == "-" || ok && i == len(p.items):
			d.saveUndo(undoStep{kind: undoInserted, parent: p, index: len(p.items)})
			d.insert(p, len(p.items), node, n)
			d.record("add", ptr, text)
		case ok && i < len(p.items):
			d.saveUndo(undoStep{kind: undoElement, parent: p, index: i, old: p.items[i]})
			d.size += n - treeLen(p.items[i])
			p.items[i] = node
			d.record("replace", ptr, text)
		default:
			return notFound(ptr)
		}
	}
	return nil
}

// Insert inserts v into the array holding ptr's last token: before the
// element at that index, or at the end for "-" or the array's length.
func (d *Doc) Insert(ptr string, v any) error {
	c, last, err := d.parent(ptr)
	if err != nil {
		return err
	}
	p, isArray := c.(*jarray)
	if !isArray {
		return fmt.Errorf("livestate: Insert %q: the parent is not an array", ptr)
	}
	i, ok := arrayIndex(last)
	if last == "-" {
		i, ok = len(p.items), true
	}
	if !ok || i > len(p.items) {
		return notFound(ptr)
	}
	node, text, err := normalize(v)
	if err != nil {
		return err
	}
	d.saveUndo(undoStep{kind: undoInserted, parent: p, index: i})
	d.insert(p, i, node, treeLen(node))
	d.record("add", ptr, text)
	return nil
}

func (d *Doc) insert(p *jarray, i int, node any, n int) {
	d.size = d.Size() + n
	if len(p.items) > 0 {
		d.size++
	}
	p.items = append(p.items, nil)
	copy(p.items[i+1:], p.items[i:])
	p.items[i] = node
}

// Remove deletes the object member or array element at ptr (not the whole
// document).
func (d *Doc) Remove(ptr string) error {
	c, last, err := d.parent(ptr)
	if err != nil {
		return err
	}
	switch p := c.(type) {
	case nil:
		return errors.New("livestate: the whole document cannot be removed; Set it instead")
	case map[string]any:
		old, ok := p[last]
		if !ok {
			return notFound(ptr)
		}
		d.saveUndo(undoStep{kind: undoMember, parent: p, key: last, old: old, had: true})
		d.size -= stringLen(last) + 1 + treeLen(old)
		if len(p) > 1 {
			d.size--
		}
		delete(p, last)
	case *jarray:
		i, ok := arrayIndex(last)
		if !ok || i >= len(p.items) {
			return notFound(ptr)
		}
		d.saveUndo(undoStep{kind: undoRemoved, parent: p, index: i, old: p.items[i]})
		d.size -= treeLen(p.items[i])
		if len(p.items) > 1 {
			d.size--
		}
		copy(p.items[i:], p.items[i+1:])
		p.items[len(p.items)-1] = nil
		p.items = p.items[:len(p.items)-1]
	}
	d.record("remove", ptr, nil)
	return nil
}

// record appends one operation to the pending patch, or drops the patch
// once it is as large as the document.
func (d *Doc) record(op, ptr string, value []byte) {
	if d.overflow {
		return
	}
	d.ops = append(d.ops, `,{"op":"`...)
	d.ops = append(d.ops, op...)
	d.ops = append(d.ops, `","path":`...)
	d.ops = appendJSONString(d.ops, ptr)
	if op != "remove" {
		d.ops = append(d.ops, `,"value":`...)
		d.ops = append(d.ops, value...)
	}
	d.ops = append(d.ops, '}')
	if len(d.ops)+1 >= d.Size() {
		d.overflow = true
		d.resetOps()
	}
}

func (d *Doc) resetOps() {
	if cap(d.ops) > 64<<10 {
		d.ops = nil
		return
	}
	d.ops = d.ops[:0]
}

// TakePatch implements [PatchRecorder]: it returns the operations recorded
// since the last call as one RFC 6902 patch and starts a new one. It
// returns ok false when the patch would not be smaller than the document,
// which is then sent whole (see [PatchRecorder]).
func (d *Doc) TakePatch() (patch []byte, ok bool) {
	if d == nil {
		return nil, true
	}
	d.endUndo()
	if d.overflow {
		d.overflow = false
		return nil, false
	}
	if len(d.ops) == 0 {
		return nil, true
	}
	defer d.resetOps()
	if len(d.ops)+1 >= d.Size() {
		return nil, false
	}
	patch = make([]byte, len(d.ops)+1)
	patch[0] = '['
	copy(patch[1:], d.ops[1:])
	patch[len(patch)-1] = ']'
	return patch, true
}

// MarshalJSON encodes the document (object keys sorted).
func (d *Doc) MarshalJSON() ([]byte, error) {
	if d == nil {
		return []byte("null"), nil
	}
	return d.appendJSON(make([]byte, 0, d.Size())), nil
}

func (d *Doc) appendJSON(dst []byte) []byte {
	if d == nil {
		return append(dst, "null"...)
	}
	return appendTree(dst, d.root)
}

// normalize returns v as a tree node and its JSON encoding.
func normalize(v any) (node any, text []byte, err error) {
	switch x := v.(type) {
	case nil:
		return nil, []byte("null"), nil
	case bool:
		return x, strconv.AppendBool(nil, x), nil
	case string:
		if utf8.ValidString(x) {
			return x, appendJSONString(nil, x), nil
		}
	case int:
		t := strconv.Itoa(x)
		return json.Number(t), []byte(t), nil
	case int64:
		t := strconv.FormatInt(x, 10)
		return json.Number(t), []byte(t), nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	node, err = toTree(data)
	if err != nil {
		return nil, nil, err
	}
	return node, data, nil
}
