package livestate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/seance-go/seance/diff"
	"github.com/seance-go/seance/internal/structjson"
)

// PatchRecorder is a synced state that records its own changes, as [Doc]
// does. After each callback the channel calls TakePatch instead of encoding
// and diffing the state:
//
//   - ok with a non-empty patch (a JSON array of RFC 6902 operations, which
//     the channel sends as is and does not keep): the operations turn the
//     state last taken into the current one;
//   - ok with an empty patch: nothing changed: an empty patch is sent
//     (nothing with Options.CompactWire);
//   - not ok: the change cannot be described (or not compactly): the whole
//     state is encoded with encoding/json and sent whole, as a patch
//     replacing the document ("path": "") or, with Options.CompactWire, as
//     a state:change.
//
// The channel also calls TakePatch, discarding the result, when it sends
// the whole state (on join, and when the state value was replaced by
// another recorder: *state = other), so recording restarts from what the
// client holds. A PatchRecorder should be a pointer type so that such a
// replacement can be noticed.
type PatchRecorder interface {
	TakePatch() (patch []byte, ok bool)
}

// syncer turns the changes of one synced state into LiveState messages and
// keeps what that needs: the version and the JSON last sent.
type syncer[S any] struct {
	msgs    MessageBuilder
	differ  diff.Differ
	text    diff.BytesDiffer // differ's text form; nil for tree-only differs
	max     int
	compact bool // Options.CompactWire
	// failed is set while syncing after a callback that returned an error:
	// when it left the state as it was, the error push is the whole answer
	// (no empty patch, no version spent), on either wire.
	failed bool
	// recordable is false when no value of S can be a PatchRecorder, so
	// that update does not box the state to ask (an allocation per event
	// for a struct state).
	recordable bool
	// direct is set when msgs is a Dialect and the differ a
	// diff.BytesAppender (without CompactWire): update then writes a
	// patch's payload straight into the caller's buffer.
	direct  bool
	version int
	// sent is the JSON of the state as last synced; nil when unknown
	// (recorded states after a patch: it is encoded again when needed).
	sent []byte
	tree any           // sent, decoded, for differs without DiffBytes
	rec  PatchRecorder // the recorder last synced
	// full tells whether the last update carried the whole state (for
	// the observer: full state vs patch).
	wasWhole bool
	// plan is set when S is a plain struct (package structjson) synced
	// with the default differ without CompactWire: the state is then
	// diffed field by field against shadow, its copy as last synced
	// (synced: taken), instead of being encoded and diffed as text. The
	// patches are the text differ's, byte for byte; sent is encoded again
	// only when the whole state is needed.
	plan   *structjson.Plan
	shadow S
	synced bool
	arrays []structjson.Array // keepShadow's scratch
	// changes is what planDiff noted of the shadow's lists, for the
	// keepShadow that follows it in updatePlain.
	changes structjson.Changes
}

func newSyncer[S any](o *Options) syncer[S] {
	y := syncer[S]{msgs: o.Messages, differ: o.Differ, max: o.MaxVersion, compact: o.CompactWire}
	y.text, _ = o.Differ.(diff.BytesDiffer)
	_, dialect := o.Messages.(Dialect)
	_, appends := o.Differ.(diff.BytesAppender)
	y.direct = dialect && appends && !o.CompactWire
	t := reflect.TypeFor[S]()
	y.recordable = t.Kind() == reflect.Interface || t.Implements(reflect.TypeFor[PatchRecorder]())
	if !y.recordable && !o.CompactWire && reflect.TypeOf(o.Differ) == reflect.TypeOf(diff.Default()) {
		y.plan = structjson.For(t)
	}
	return y
}

// encode returns the JSON of *st in a pooled buffer, with its box.
func (y *syncer[S]) encode(st *S) ([]byte, *[]byte, error) {
	if y.plan == nil {
		return encodeStateBox(st)
	}
	box := getBox()
	buf := *box
	*box = nil
	data, err := y.plan.AppendJSON(buf, unsafe.Pointer(st))
	if err != nil {
		putBox(box, data)
		return nil, nil, err
	}
	return data, box, nil
}

// recorder returns *st as a PatchRecorder, if it is one.
func (y *syncer[S]) recorder(st *S) (PatchRecorder, bool) {
	if !y.recordable {
		return nil, false
	}
	r, ok := any(*st).(PatchRecorder)
	return r, ok
}

// start takes *st as the base the client receives whole and returns its
// JSON. The version is left as it is.
func (y *syncer[S]) start(st *S) ([]byte, error) {
	if r, ok := y.recorder(st); ok {
		r.TakePatch()
		y.rec = r
	} else {
		y.rec = nil
	}
	data, _, err := y.encode(st)
	if err != nil {
		return nil, err
	}
	if err := y.keep(data); err != nil {
		return nil, err
	}
	if y.plan != nil {
		y.keepShadow(st, nil)
		y.synced = true
	}
	return y.sent, nil
}

// full returns the JSON of the state as last synced (which is the current
// state between callbacks), encoding it if it is not kept.
func (y *syncer[S]) full(st *S) ([]byte, error) {
	if y.sent != nil {
		return y.sent, nil
	}
	data, _, err := y.encode(st)
	if err != nil {
		return nil, err
	}
	y.sent = trim(data)
	return y.sent, nil
}

// update returns the message carrying the change made since the last sync,
// with the next version. By default there always is one (live_state's
// wire); with CompactWire, event is "" when there is nothing to send.
// With dst non-nil (a buffer of the caller's) the payload may be written
// there, inDst then true: a patch of a direct syncer is appended to it,
// without the copies of the patch Dialect.Patch takes.
func (y *syncer[S]) update(st *S, dst []byte) (event string, payload []byte, inDst bool, err error) {
	y.wasWhole = false
	if r, ok := y.recorder(st); ok {
		if y.rec != nil && sameRecorder(r, y.rec) {
			patch, ok := r.TakePatch()
			if ok {
				if len(patch) == 0 {
					if y.compact || y.failed {
						return "", nil, false, nil
					}
					patch = emptyPatch
				}
				y.forget()
				event, payload = y.msgs.Patch(patch, y.bump())
				return event, payload, false, nil
			}
		} else {
			r.TakePatch() // recording restarts from the whole state
		}
		y.rec = r
		data, err := encodeState(st)
		if err != nil {
			return "", nil, false, err
		}
		y.forget()
		y.sent = trim(data)
		event, payload = y.whole(y.sent, y.bump())
		return event, payload, false, nil
	}
	if y.plan != nil && y.synced {
		return y.updatePlain(st, dst)
	}
	wasRecorder := y.rec != nil
	y.rec = nil
	data, box, err := encodeStateBox(st)
	if err != nil {
		return "", nil, false, err
	}
	if y.sent == nil || wasRecorder {
		if err := y.keep(data); err != nil {
			return "", nil, false, err
		}
		event, payload = y.whole(y.sent, y.bump())
		return event, payload, false, nil
	}
	if bytes.Equal(data, y.sent) {
		putBox(box, data)
		event, payload, err = y.unchanged()
		return event, payload, false, err
	}
	if y.direct && dst != nil {
		d := y.msgs.(Dialect)
		dst = appendWrapHead(dst, d.PatchKey)
		n := len(dst)
		if dst, err = y.text.(diff.BytesAppender).AppendDiffBytes(dst, y.sent, data); err != nil {
			putBox(box, data)
			return "", nil, false, err
		}
		y.replace(data, nil, box)
		if len(dst) == n {
			event, payload, err = y.unchanged()
			return event, payload, false, err
		}
		return d.PatchEvent, d.appendWrapTail(dst, y.bump()), true, nil
	}
	var patch []byte
	var tree any
	if y.text != nil {
		patch, err = y.text.DiffBytes(y.sent, data)
	} else if tree, err = decodeTree(data); err == nil {
		patch, err = y.differ.Diff(y.tree, tree)
	}
	if err != nil {
		putBox(box, data)
		return "", nil, false, err
	}
	if len(patch) == 0 {
		y.replace(data, tree, box)
		event, payload, err = y.unchanged()
		return event, payload, false, err
	}
	version := y.bump()
	if y.compact && len(patch) >= len(data) {
		y.wasWhole = true
		event, payload = y.msgs.Change(data, version)
	} else {
		event, payload = y.msgs.Patch(patch, version)
	}
	y.replace(data, tree, box)
	return event, payload, false, nil
}

// idle drops the JSON kept of a plain struct state, which is encoded
// again from the state when it is needed: an idle channel holds only its
// state and the copy. The caller must hold no reference to that JSON.
func (y *syncer[S]) idle() {
	if y.plan != nil && y.synced {
		y.forget()
	}
}

// planDiff appends the patch from the struct at old to the one at cur,
// from the plan; where the plan leaves it to the text differ (a map key
// written with escapes), from the two encodings.
func (y *syncer[S]) planDiff(dst []byte, old, cur unsafe.Pointer) ([]byte, error) {
	n := len(dst)
	out, err := y.plan.AppendDiffNoting(dst, old, cur, &y.changes)
	if !errors.Is(err, structjson.ErrTextDiff) {
		return out, err
	}
	prev, err := y.plan.AppendJSON(nil, old)
	if err != nil {
		return dst[:n], err
	}
	next, err := y.plan.AppendJSON(nil, cur)
	if err != nil {
		return dst[:n], err
	}
	return y.differ.(diff.BytesAppender).AppendDiffBytes(dst[:n], prev, next)
}

// keepShadow copies *st into the shadow; its slices and maps get arrays
// and maps of the shadow's own, which a callback cannot change in place.
// With ch, what planDiff noted from the shadow to *st right before, the
// elements of lists that it found unchanged are not compared again.
func (y *syncer[S]) keepShadow(st *S, ch *structjson.Changes) {
	if !y.plan.HasLists() {
		y.shadow = *st
		return
	}
	y.arrays = y.plan.Arrays(unsafe.Pointer(&y.shadow), y.arrays[:0])
	y.shadow = *st
	y.plan.CopyListsNoted(unsafe.Pointer(&y.shadow), unsafe.Pointer(st), y.arrays, ch)
	clear(y.arrays) // the shadow holds those it reused
}

// updatePlain is update for a plain struct state: the patch from the
// shadow copy, field by field.
func (y *syncer[S]) updatePlain(st *S, dst []byte) (event string, payload []byte, inDst bool, err error) {
	old, cur := unsafe.Pointer(&y.shadow), unsafe.Pointer(st)
	if y.direct && dst != nil {
		d := y.msgs.(Dialect)
		dst = appendWrapHead(dst, d.PatchKey)
		n := len(dst)
		if dst, err = y.planDiff(dst, old, cur); err != nil {
			return "", nil, false, err
		}
		// The copy takes fields that are not synced too, changed or
		// not: a rollback restores them as well.
		y.keepShadow(st, &y.changes)
		if len(dst) == n {
			event, payload, err = y.unchanged()
			return event, payload, false, err
		}
		y.forget() // encoded again when the whole state is needed
		return d.PatchEvent, d.appendWrapTail(dst, y.bump()), true, nil
	}
	patch, err := y.planDiff(nil, old, cur)
	if err != nil {
		return "", nil, false, err
	}
	y.keepShadow(st, &y.changes)
	if len(patch) == 0 {
		event, payload, err = y.unchanged()
		return event, payload, false, err
	}
	y.forget()
	event, payload = y.msgs.Patch(patch, y.bump())
	return event, payload, false, nil
}

// updateAfter is update after a callback that returned cbErr: a failed
// callback that changed nothing sends nothing.
func (y *syncer[S]) updateAfter(st *S, cbErr error, dst []byte) (string, []byte, bool, error) {
	y.failed = cbErr != nil
	defer func() { y.failed = false }()
	return y.update(st, dst)
}

// emptyPatch is the patch of a callback that changed nothing.
var emptyPatch = []byte("[]")

// unchanged is the update of a callback that left the state as it was: an
// empty patch with the next version (live_state), or nothing (CompactWire,
// or a callback that failed).
func (y *syncer[S]) unchanged() (string, []byte, error) {
	if y.compact || y.failed {
		return "", nil, nil
	}
	event, payload := y.msgs.Patch(emptyPatch, y.bump())
	return event, payload, nil
}

// whole returns the update carrying the whole state data when no patch
// from the previous state is known: a state:change with CompactWire,
// otherwise (live_state's wire: every update is a patch) a patch replacing
// the whole document.
func (y *syncer[S]) whole(data []byte, version int) (string, []byte) {
	y.wasWhole = true
	if y.compact {
		return y.msgs.Change(data, version)
	}
	const head, tail = `[{"op":"replace","path":"","value":`, `}]`
	patch := make([]byte, 0, len(head)+len(data)+len(tail))
	patch = append(append(append(patch, head...), data...), tail...)
	return y.msgs.Patch(patch, version)
}

// checkpoint marks the state as it is before a callback, for rollback.
// Plain states need nothing (the JSON last synced is the checkpoint); a
// [Doc] starts recording how to undo its edits.
func (y *syncer[S]) checkpoint(st *S) {
	if d, ok := any(*st).(*Doc); ok && d != nil && y.rec != nil && sameRecorder(d, y.rec) {
		d.checkpoint()
	}
}

// rollback puts the state back as it was last synced, after a callback
// that did not return (a panic). The version is not touched: nothing of
// the change was sent. A plain struct state (plan) is restored from its
// shadow copy. Any other state is decoded again from the JSON last synced,
// so it must survive an encoding/json round trip (fields that are not
// encoded come back as zero values); a Doc undoes its edits. A state
// that can be neither (another PatchRecorder, or JSON that does not
// decode) is kept as the callback left it, and its next update sends it
// whole so that every client still agrees with the server.
func (y *syncer[S]) rollback(st *S) error {
	if y.rec != nil {
		if d, ok := y.rec.(*Doc); ok {
			d.rollback()
			if s, ok := any(d).(S); ok {
				*st = s // the callback may have replaced the Doc
				return nil
			}
		}
		y.rec = nil // the next update sends the state whole
		return errors.New("livestate: the state records its own patches and cannot be rolled back")
	}
	if y.plan != nil && y.synced {
		*st = y.shadow
		if y.plan.HasLists() {
			y.plan.DetachLists(unsafe.Pointer(st)) // the shadow's arrays stay its own
		}
		return nil
	}
	if y.sent == nil {
		return errors.New("livestate: no synced state to roll back to")
	}
	var fresh S
	if err := json.Unmarshal(y.sent, &fresh); err != nil {
		y.forget() // the next update sends the state whole
		return fmt.Errorf("livestate: decoding the state last synced: %w", err)
	}
	*st = fresh
	return nil
}

// keep makes data (a pooled buffer) the JSON last sent, decoding it when
// the differ works on trees.
func (y *syncer[S]) keep(data []byte) error {
	var tree any
	if y.text == nil && y.rec == nil {
		var err error
		if tree, err = decodeTree(data); err != nil {
			putBuf(data)
			return err
		}
	}
	y.replace(data, tree, nil)
	return nil
}

// decodeTree decodes JSON into the generic tree a tree differ works on. It
// is a function of its own so that only the tree path pays for the
// variable Unmarshal makes escape.
func decodeTree(data []byte) (any, error) {
	var tree any
	err := json.Unmarshal(data, &tree)
	return tree, err
}

// replace makes data (and tree) the state last sent; box is the pool's box
// data came in (nil if none), which takes the buffer given back so that no
// new box is made.
func (y *syncer[S]) replace(data []byte, tree any, box *[]byte) {
	old := y.sent
	y.sent, y.tree = nil, nil
	data, box = trimBox(data, box)
	if old != nil {
		putBox(box, old)
	}
	y.sent, y.tree = data, tree
}

// forget drops the JSON last sent, returning its buffer to the pool.
func (y *syncer[S]) forget() {
	if y.sent != nil {
		putBuf(y.sent)
	}
	y.sent, y.tree = nil, nil
}

// bump advances the version: 0, 1, … max, 0, …
func (y *syncer[S]) bump() int {
	if y.version >= y.max {
		y.version = 0
	} else {
		y.version++
	}
	return y.version
}

// sameRecorder reports whether a and b are the same recorder; recorders of
// a non-comparable type are taken to be the same.
func sameRecorder(a, b PatchRecorder) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) {
		return false
	}
	if !ta.Comparable() {
		return true
	}
	return a == b
}

// encodeState returns the JSON of *st in a pooled buffer: encoding/json
// without the copy json.Marshal makes, or the document itself for a *Doc.
func encodeState[S any](st *S) ([]byte, error) {
	data, _, err := encodeStateBox(st)
	return data, err
}

// encodeStateBox is encodeState that also returns the pool's box of the
// buffer (empty now: the bytes belong to the caller), for putBox.
func encodeStateBox[S any](st *S) ([]byte, *[]byte, error) {
	box := getBox()
	buf := *box
	*box = nil
	if d, ok := any(*st).(*Doc); ok {
		return d.appendJSON(buf), box, nil
	}
	e, _ := encoderPool.Get().(*stateEncoder)
	if e == nil {
		e = new(stateEncoder)
		e.enc = json.NewEncoder(&e.w)
	}
	e.w = buf
	err := e.enc.Encode(st)
	b := e.w
	e.w = nil
	encoderPool.Put(e)
	if err != nil {
		putBox(box, b)
		return nil, nil, err
	}
	return b[:len(b)-1], box, nil // the Encoder's newline
}

// stateEncoder is a json.Encoder writing to a buffer of its own, pooled so
// that encoding a state allocates neither of them. Between uses it holds no
// buffer: the bytes written belong to the caller.
type stateEncoder struct {
	w   appender
	enc *json.Encoder
}

var encoderPool sync.Pool

// appender is an io.Writer appending to a byte slice.
type appender []byte

func (a *appender) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}

// bufPool holds encoding buffers. A state's JSON is kept between callbacks
// in one of them and the previous one returned, so steady-state syncing
// allocates no new buffer.
var bufPool sync.Pool

// getBox returns an empty pooled buffer in its box. Give the box back
// with putBox, holding this buffer or another: that makes no new box.
func getBox() *[]byte {
	if p, ok := bufPool.Get().(*[]byte); ok {
		*p = (*p)[:0]
		return p
	}
	b := make([]byte, 0, 1024)
	return &b
}

// putBox returns b to the pool in the box p, or in a new box when p is nil.
func putBox(p *[]byte, b []byte) {
	if cap(b) == 0 || cap(b) > 64<<20 {
		return
	}
	if p == nil {
		p = new([]byte) // not &b: that would box b before the checks
	}
	*p = b[:0]
	bufPool.Put(p)
}

func putBuf(b []byte) { putBox(nil, b) }

// trim returns data in a buffer not much larger than itself, so that a
// small state does not keep a pooled buffer (1 KiB at least) alive between
// callbacks: idle channels hold only their state's bytes.
func trim(data []byte) []byte {
	data, _ = trimBox(data, nil)
	return data
}

// trimBox is trim with the pool's box of data (nil if none), returned
// unless a copy was made and data given back in it.
func trimBox(data []byte, box *[]byte) ([]byte, *[]byte) {
	if cap(data) <= len(data)+len(data)/2+64 {
		return data, box
	}
	c := make([]byte, len(data))
	copy(c, data)
	putBox(box, data)
	return c, nil
}
