package adapter

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seance-go/seance/phx"
)

func newCore(t *testing.T, log *bytes.Buffer) *Core {
	t.Helper()
	c := Config{Name: "test", Key: "key", Node: "me", Logger: slog.New(slog.NewTextHandler(log, nil))}
	if err := c.SetDefaults(); err != nil {
		t.Fatal(err)
	}
	return NewCore(c)
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
	}{{"topics", Topics}, {"", Topics}, {"bus", Bus}} {
		m, err := ParseMode("x", tc.in)
		if err != nil || m != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", tc.in, m, err, tc.want)
		}
	}
	_, err := ParseMode("x", "ring")
	if want := `x pubsub: unknown mode "ring" (want topics or bus)`; err == nil || err.Error() != want {
		t.Errorf("ParseMode(ring) error = %v, want %s", err, want)
	}
	if s := Mode(7).String(); s != "Mode(7)" {
		t.Errorf("Mode(7).String() = %q", s)
	}
}

func TestConfigDefaults(t *testing.T) {
	bad := Config{Name: "x", Mode: 7}
	if err := bad.SetDefaults(); err == nil || !strings.HasPrefix(err.Error(), "x pubsub: unknown Mode(7)") {
		t.Errorf("unknown mode: error %v", err)
	}
	var a, b Config
	if err := a.SetDefaults(); err != nil {
		t.Fatal(err)
	}
	if err := b.SetDefaults(); err != nil {
		t.Fatal(err)
	}
	if a.Node == "" || a.Node == b.Node {
		t.Errorf("default node names %q and %q, want unique", a.Node, b.Node)
	}
	if a.Namespace != "seance" || a.SubscribeTimeout <= 0 || a.Logger == nil || a.Mode != Topics {
		t.Errorf("defaults = %+v", a)
	}
	set := Config{Node: "n", Namespace: "ns", Mode: Bus}
	if err := set.SetDefaults(); err != nil || set.Node != "n" || set.Namespace != "ns" || set.Mode != Bus {
		t.Errorf("set fields changed: %+v, %v", set, err)
	}
}

// apply runs exactly when a key's wanted state changes, with SubMu held;
// repeated calls change nothing; a refused apply records nothing.
func TestSet(t *testing.T) {
	c := newCore(t, &bytes.Buffer{})
	var calls []string
	set := func(key string, on, ok bool) bool {
		return c.Set(key, on, func(on bool) bool {
			if c.SubMu.TryLock() {
				t.Error("apply ran without SubMu held")
			}
			calls = append(calls, fmt.Sprint(key, on))
			return ok
		})
	}
	steps := []struct {
		key     string
		on, ok  bool
		changed bool
	}{
		{"a", true, true, true},
		{"a", true, true, false}, // idempotent
		{"b", false, true, false},
		{"b", true, false, false}, // refused: not recorded
		{"b", true, true, true},   // so the retry applies
		{"a", false, true, true},
		{"a", false, true, false},
	}
	for i, s := range steps {
		if got := set(s.key, s.on, s.ok); got != s.changed {
			t.Errorf("step %d: Set(%s, %v) = %v, want %v", i, s.key, s.on, got, s.changed)
		}
	}
	if want := []string{"atrue", "btrue", "btrue", "afalse"}; !slices.Equal(calls, want) {
		t.Errorf("apply calls = %v, want %v", calls, want)
	}
	c.SubMu.Lock()
	wanted := c.Wanted([]string{"own"})
	c.SubMu.Unlock()
	if want := []string{"own", "b"}; !slices.Equal(wanted, want) {
		t.Errorf("Wanted = %v, want %v", wanted, want)
	}
	if st := c.Stats(true); st.Topics != 1 || !st.Connected {
		t.Errorf("stats = %+v, want 1 topic, connected", st)
	}
}

// Concurrent calls leave the broker state (what apply was last told)
// equal to the recorded one.
func TestSetConcurrent(t *testing.T) {
	c := newCore(t, &bytes.Buffer{})
	subscribed := false
	var wg sync.WaitGroup
	for i := range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Set("k", i%2 == 0, func(on bool) bool {
				if subscribed == on {
					t.Errorf("apply(%v) while already %v", on, subscribed)
				}
				subscribed = on
				return true
			})
		}()
	}
	wg.Wait()
	if want := map[bool]int{true: 1}[subscribed]; c.Stats(false).Topics != want {
		t.Errorf("broker subscribed %v but %d topics recorded", subscribed, c.Stats(false).Topics)
	}
}

func TestEncodeDeliver(t *testing.T) {
	var log bytes.Buffer
	sender, receiver := newCore(t, &log), newCore(t, &log)
	receiver.cfg.Node = "you"
	var got []*phx.Envelope
	deliver := func(e *phx.Envelope) { got = append(got, e) }

	want := &phx.Envelope{FromNode: "me", Topic: "room", Event: "e", Payload: []byte{0, 255}, Binary: true}
	receiver.Deliver("k", sender.Encode("k", want), deliver)
	own := &phx.Envelope{Topic: "room", Event: "own"} // FromNode defaults to the sender
	sender.Deliver("k", sender.Encode("k", own), deliver)
	other := &phx.Envelope{FromNode: "me", ToNode: "them", Topic: "room", Event: "direct"}
	receiver.Deliver("k", sender.Encode("k", other), deliver)
	sender.Encode("k", want) // lost
	direct := &phx.Envelope{FromNode: "me", ToNode: "you", Topic: "room", Event: "direct"}
	receiver.Deliver("k", sender.Encode("k", direct), deliver)
	receiver.Deliver("k", []byte("\x02future"), deliver)
	receiver.Deliver("k", []byte{}, deliver)

	if !reflect.DeepEqual(got, []*phx.Envelope{want, direct}) {
		t.Errorf("delivered %+v, want the first and the direct message", got)
	}
	// The receiver never saw sequence numbers 2 (given to the sender
	// only) and 4 (not sent); 3, for another node, is no gap.
	st := receiver.Stats(false)
	if st.Received != 2 || st.Lost != 2 || st.UnknownVersion != 1 || st.Malformed != 1 {
		t.Errorf("receiver stats = %+v", st)
	}
	for _, s := range []string{"key=k", "test pubsub: message dropped", "test pubsub: messages from another node were lost"} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, log.String())
		}
	}
}

func TestPublished(t *testing.T) {
	var log bytes.Buffer
	c := newCore(t, &log)
	m := &phx.Envelope{Topic: "room", Event: "e"}
	if err := c.Published(m, nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	c.Disconnected()
	for range 3 {
		if err := c.Published(m, boom); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), `test pubsub: publish "room": `) {
			t.Errorf("Published error = %v", err)
		}
	}
	if err := c.Published(m, nil); err != nil {
		t.Fatal(err)
	}
	o := c.Reconnected()
	if o.Published != 1 || o.PublishErrors != 3 || o.Duration < 0 {
		t.Errorf("outage = %+v, want 1 published, 3 errors", o)
	}
	st := c.Stats(true)
	if st.Published != 2 || st.PublishErrors != 3 || st.Disconnects != 1 || st.Reconnects != 1 {
		t.Errorf("stats = %+v", st)
	}
	// Three failures within a second log one line.
	if n := strings.Count(log.String(), "publish failed"); n != 1 {
		t.Errorf("%d publish failure lines, want 1:\n%s", n, log.String())
	}
}

func TestLimiter(t *testing.T) {
	var l Limiter
	if ok, n := l.Allow(); !ok || n != 0 {
		t.Errorf("first Allow = %v, %d", ok, n)
	}
	for range 3 {
		if ok, _ := l.Allow(); ok {
			t.Error("Allow within the interval")
		}
	}
	l.last = l.last.Add(-logInterval) // as if a second had passed
	if ok, n := l.Allow(); !ok || n != 3 {
		t.Errorf("Allow after the interval = %v, %d; want true, 3", ok, n)
	}
}

func TestRun(t *testing.T) {
	c := newCore(t, &bytes.Buffer{})
	if !c.BeginRun() || c.BeginRun() {
		t.Fatal("BeginRun: want true then false")
	}
	c.EndRun()
	if !c.BeginRun() {
		t.Error("BeginRun after EndRun = false")
	}
}
