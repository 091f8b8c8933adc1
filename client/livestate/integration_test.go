package livestate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/client/livestate"
	"github.com/seance-go/seance/diff"
	server "github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// TestMirrorMatchesServerWithGaps runs a LiveState channel of OUR server
// whose state, a random nested JSON document, is mutated by N client
// events, while the server forces gaps — patches whose version skips a
// number, patches the client never sees (renamed to an event it ignores) —
// and full state:change messages in place of patches. The client must
// detect every gap, send lvs_refresh, and end with a mirror equal to the
// server's state. The seed is logged; CLIENT_SEED replays one.
func TestMirrorMatchesServerWithGaps(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CLIENT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CLIENT_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (set CLIENT_SEED=%d to replay)", seed, seed)
	const events = 300
	differs := []struct {
		name string
		d    diff.Differ
	}{{"tree", diff.Tree()}, {"jsondiff", diff.JSONDiff()}, {"jsonpatch", diff.JSONPatch()}}
	for _, tr := range []client.Transport{client.WebSocket, client.LongPoll} {
		for _, df := range differs {
			for _, compact := range []bool{false, true} {
				name := tr.String() + "/" + df.name
				if compact {
					name += "/compact"
				}
				t.Run(name, func(t *testing.T) {
					runMirrorFuzz(t, seed, events, tr, df.d, compact)
				})
			}
		}
	}
}

// runMirrorFuzz runs one fuzz session; compact sets the server's
// Options.CompactWire (the mirror must handle both wires).
func runMirrorFuzz(t *testing.T, seed uint64, events int, tr client.Transport, differ diff.Differ, compact bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fz := &fuzzState{rng: rand.New(rand.NewPCG(seed, 0x5eed))}

	reg := server.NewRegistry(server.Config{Engine: phx.Config{Logger: slog.New(slog.DiscardHandler)}})
	reg.Handle("fuzz:*", server.New(func() server.Channel[map[string]any] { return &fuzzChannel{fz: fz} }, server.Options{
		MaxVersion:  120, // wraps to 0 a few times
		Messages:    &gappyMessages{Dialect: server.LiveStateDialect(), fz: fz},
		Differ:      &forcingDiffer{d: differ, fz: fz},
		CompactWire: compact,
	}))
	srv := httptest.NewServer(server.Handler(reg))
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = reg.Shutdown(sctx)
		srv.Close()
	})

	s, err := client.Dial(ctx, srv.URL+"/socket", &client.Options{Transport: tr, HeartbeatInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := livestate.New(s, "fuzz:1", nil)
	synced := make(chan int, 4)
	m.On("synced", func(p json.RawMessage) {
		var round int
		_ = json.Unmarshal(p, &round)
		synced <- round
	})
	if err := m.Join(ctx); err != nil {
		t.Fatal(err)
	}
	round := 0
	syncRound := func() {
		t.Helper()
		round++
		if err := m.PushEvent(ctx, "sync", round); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-synced:
			if got != round {
				t.Fatalf("synced %d, want %d", got, round)
			}
		case <-ctx.Done():
			t.Fatalf("no synced %d: %v", round, ctx.Err())
		}
	}
	// Now and then the client waits until the server has handled its
	// events, so that refreshes are answered between later patches rather
	// than all at the end.
	pace := rand.New(rand.NewPCG(seed, 0xc11e))
	for range events {
		if err := m.PushEvent(ctx, "step", nil); err != nil {
			t.Fatal(err)
		}
		if pace.IntN(25) == 0 {
			syncRound()
		}
	}
	// Then, deterministically: the update of "tail" is dropped, and the
	// one of "last", which would apply cleanly to the stale mirror, must be
	// recognised as following a gap. No random gap happens after "tail".
	// Two sync rounds first, so that no refresh caused by the steps is
	// still unanswered and could mend the mirror by chance.
	syncRound()
	syncRound()
	for _, ev := range []string{"tail", "last"} {
		if err := m.PushEvent(ctx, ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Two sync rounds: the first "synced" arrives after every state update
	// before it, so every lvs_refresh they caused has been sent before the
	// second "sync", whose "synced" then arrives after the answers to all of
	// them.
	syncRound()
	syncRound()

	// "synced" is pushed before the sync event's own state update (an
	// empty patch on live_state's wire): wait until the mirror has the
	// version last sent.
	// The server may still be sending that update when the mirror first
	// matches an earlier snapshot: wait until the mirror has the version
	// last sent and the server has sent nothing more for a few polls.
	st := fz.snapshot()
	for quiet := 0; quiet < 3 && ctx.Err() == nil; {
		time.Sleep(10 * time.Millisecond)
		next := fz.snapshot()
		if v, _ := m.Version(); v == next.wireVersion && next.wireVersion == st.wireVersion && next.patches == st.patches {
			quiet++
		} else {
			quiet = 0
		}
		st = next
	}
	t.Logf("%d events, %d sync rounds: %d patches, %d skipped versions, %d dropped patches, %d forced state:change, %d lvs_refresh, final version %d",
		events, round, st.patches, st.skips, st.drops, st.forced, st.refreshes, st.wireVersion)
	if d := cmp.Diff(normalize(t, st.state), normalize(t, m.State())); d != "" {
		t.Errorf("mirror differs from the server's state (-server +mirror):\n%s", d)
	}
	if v, ok := m.Version(); !ok || v != st.wireVersion {
		t.Errorf("mirror version %d (%v), server sent %d", v, ok, st.wireVersion)
	}
	if st.refreshes == 0 {
		t.Errorf("the client never sent lvs_refresh (%d skips, %d drops)", st.skips, st.drops)
	}
	if st.skips == 0 || st.drops == 0 || st.forced == 0 {
		t.Errorf("the run forced no gap or no state:change: %+v", st)
	}
}

// normalize turns a JSON tree (or JSON text) into one made of float64,
// string, bool, nil, []any and map[string]any.
func normalize(t *testing.T, v any) any {
	t.Helper()
	data, ok := v.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// fuzzState is shared by the channel, its message builder and its differ,
// which all run on the channel's goroutine; the test reads it at the end.
type fuzzState struct {
	mu          sync.Mutex
	rng         *rand.Rand
	state       []byte // the server's state after the last callback (test hook)
	skew        int    // added to every non-zero version sent
	final       bool   // no more random gaps
	dropNext    bool   // drop the next state update
	wireVersion int    // the version last sent
	patches     int
	skips       int
	drops       int
	forced      int
	refreshes   int
}

type fuzzStats struct {
	state                                    []byte
	wireVersion                              int
	patches, skips, drops, forced, refreshes int
}

func (fz *fuzzState) snapshot() fuzzStats {
	fz.mu.Lock()
	defer fz.mu.Unlock()
	return fuzzStats{state: fz.state, wireVersion: fz.wireVersion, patches: fz.patches, skips: fz.skips,
		drops: fz.drops, forced: fz.forced, refreshes: fz.refreshes}
}

// chance reports true with probability 1/n, never after the final event.
func (fz *fuzzState) chance(n int) bool {
	return !fz.final && fz.rng.IntN(n) == 0
}

// fuzzChannel is the LiveState channel under test.
type fuzzChannel struct{ fz *fuzzState }

func (c *fuzzChannel) Init(context.Context, *server.Socket, phx.Payload) (map[string]any, error) {
	c.fz.mu.Lock()
	defer c.fz.mu.Unlock()
	state := map[string]any{}
	for range 4 {
		mutateObject(c.fz.rng, state, 0)
	}
	c.fz.record(state)
	return state, nil
}

func (c *fuzzChannel) HandleEvent(_ context.Context, s *server.Socket, event string, payload phx.Payload, state *map[string]any) error {
	c.fz.mu.Lock()
	defer c.fz.mu.Unlock()
	switch event {
	case "step":
		mutateObject(c.fz.rng, *state, 0)
	case "tail":
		c.fz.final, c.fz.dropNext = true, true
		(*state)["tail"] = map[string]any{"patches": float64(c.fz.patches)}
	case "last":
		(*state)["last"] = true
	case "sync":
		var round int
		_ = payload.Decode(&round)
		s.Emit("synced", round)
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	c.fz.record(*state)
	return nil
}

func (fz *fuzzState) record(state map[string]any) {
	data, err := json.Marshal(state)
	if err != nil {
		panic(err)
	}
	fz.state = data
}

// gappyMessages is LiveState's dialect, except that it counts lvs_refresh
// and now and then skips a version number or renames a patch so the client
// drops it.
type gappyMessages struct {
	server.Dialect
	fz *fuzzState
}

func (g *gappyMessages) ClientEvent(event string, payload phx.Payload) (string, phx.Payload, server.EventKind) {
	name, p, kind := g.Dialect.ClientEvent(event, payload)
	if kind == server.EventRefresh {
		g.fz.mu.Lock()
		g.fz.refreshes++
		g.fz.mu.Unlock()
	}
	return name, p, kind
}

func (g *gappyMessages) wire(version int) int {
	if version == 0 {
		g.fz.skew = 0
		return 0
	}
	return version + g.fz.skew
}

func (g *gappyMessages) Change(state []byte, version int) (string, []byte) {
	g.fz.mu.Lock()
	defer g.fz.mu.Unlock()
	v := g.wire(version)
	g.fz.wireVersion = v
	ev, payload := g.Dialect.Change(state, v)
	return g.fz.maybeDrop(ev), payload
}

// maybeDrop renames ev to an event the mirror ignores when the next update
// is to be dropped.
func (fz *fuzzState) maybeDrop(ev string) string {
	if fz.dropNext {
		fz.dropNext = false
		fz.drops++
		return "dropped:" + ev
	}
	return ev
}

func (g *gappyMessages) Patch(patch []byte, version int) (string, []byte) {
	g.fz.mu.Lock()
	defer g.fz.mu.Unlock()
	g.fz.patches++
	if version != 0 && g.fz.chance(12) {
		g.fz.skew++
		g.fz.skips++
	}
	v := g.wire(version)
	g.fz.wireVersion = v
	ev, payload := g.Dialect.Patch(patch, v)
	if g.fz.chance(15) {
		g.fz.dropNext = true // a lost patch
	}
	return g.fz.maybeDrop(ev), payload
}

// forcingDiffer now and then returns a patch replacing the whole document,
// which is never smaller than the state: with CompactWire the server sends
// a state:change instead.
type forcingDiffer struct {
	d  diff.Differ
	fz *fuzzState
}

func (f *forcingDiffer) Diff(prev, next any) ([]byte, error) {
	f.fz.mu.Lock()
	force := f.fz.chance(20)
	if force {
		f.fz.forced++
	}
	f.fz.mu.Unlock()
	if force {
		data, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		return []byte(`[{"op":"replace","path":"","value":` + string(data) + `}]`), nil
	}
	return f.d.Diff(prev, next)
}

// Random JSON, with the keys that trip JSON Pointer implementations.
var fuzzKeys = []string{"", "a", "b", "a/b", "m~n", "~1", "0", "-", "ü", "k k", `q"`, "items", "n"}

func randomValue(rng *rand.Rand, depth int) any {
	kinds := 9
	if depth >= 3 {
		kinds = 6 // scalars only
	}
	switch rng.IntN(kinds) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return float64(rng.IntN(2001) - 1000)
	case 3:
		return float64(rng.IntN(1<<20)) / 8
	case 4:
		return fuzzKeys[rng.IntN(len(fuzzKeys))] + strings.Repeat("é\n", rng.IntN(3))
	case 5:
		return ""
	case 6, 7:
		obj := map[string]any{}
		for range rng.IntN(4) {
			obj[fuzzKeys[rng.IntN(len(fuzzKeys))]] = randomValue(rng, depth+1)
		}
		return obj
	default:
		arr := []any{}
		for range rng.IntN(5) {
			arr = append(arr, randomValue(rng, depth+1))
		}
		return arr
	}
}

// mutateObject makes one random change at or below obj.
func mutateObject(rng *rand.Rand, obj map[string]any, depth int) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // map order is random: sort for a replayable run
	switch r := rng.IntN(10); {
	case len(keys) == 0 || r < 3 && len(keys) < 10:
		obj[fuzzKeys[rng.IntN(len(fuzzKeys))]] = randomValue(rng, depth+1)
	case r < 5:
		delete(obj, keys[rng.IntN(len(keys))])
	default:
		k := keys[rng.IntN(len(keys))]
		obj[k] = mutateValue(rng, obj[k], depth+1)
	}
}

// mutateValue returns v changed once (in place for containers).
func mutateValue(rng *rand.Rand, v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if depth < 4 && rng.IntN(8) != 0 {
			mutateObject(rng, x, depth)
			return x
		}
	case []any:
		if depth < 4 && rng.IntN(8) != 0 {
			return mutateArray(rng, x, depth)
		}
	}
	return randomValue(rng, depth)
}

func mutateArray(rng *rand.Rand, arr []any, depth int) []any {
	switch r := rng.IntN(10); {
	case len(arr) == 0 || r < 3 && len(arr) < 10:
		i := rng.IntN(len(arr) + 1)
		return slices.Insert(arr, i, randomValue(rng, depth+1))
	case r < 5:
		i := rng.IntN(len(arr))
		return slices.Delete(arr, i, i+1)
	case r < 6:
		arr[rng.IntN(len(arr))] = nil
		return arr
	default:
		i := rng.IntN(len(arr))
		arr[i] = mutateValue(rng, arr[i], depth+1)
		return arr
	}
}
