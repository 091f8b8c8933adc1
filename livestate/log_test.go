package livestate_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// levels returns the level of each record whose message starts with prefix.
func (r *logRecorder) levels(prefix string) []slog.Level {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Level
	for _, rec := range r.records {
		if strings.HasPrefix(rec.Message, prefix) {
			out = append(out, rec.Level)
		}
	}
	return out
}

// unencodable fails to encode: a real error when syncing.
type unencodable struct{}

func (unencodable) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot encode") }

type slowState struct {
	N   int          `json:"n"`
	Bad *unencodable `json:"bad,omitempty"`
}

// slowChannel's "slow" event waits for the test before changing the
// state, so that the client can go away in between.
type slowChannel struct {
	started chan<- struct{}
	release <-chan struct{}
	closed  chan<- error
}

func (c *slowChannel) Init(context.Context, *livestate.Socket, phx.Payload) (slowState, error) {
	return slowState{}, nil
}

func (c *slowChannel) HandleEvent(_ context.Context, s *livestate.Socket, event string, _ phx.Payload, st *slowState) error {
	switch event {
	case "slow":
		c.started <- struct{}{}
		<-c.release
		s.Emit("done", nil)
		st.N++
	case "break":
		st.Bad = &unencodable{}
	}
	return nil
}

func (c *slowChannel) Closed(_ context.Context, _ *livestate.Socket, reason error) {
	c.closed <- reason
}

// TestDisconnectIsNotAnError: an update that finds its client gone (an
// ordinary disconnect) is logged at Debug; a state that cannot be encoded
// is still an Error.
func TestDisconnectIsNotAnError(t *testing.T) {
	logs := &logRecorder{}
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: slog.New(logs)}})
	t.Cleanup(func() { reg.Shutdown(context.Background()) })
	started, release, closed := make(chan struct{}, 1), make(chan struct{}), make(chan error, 2)
	reg.Handle("slow:*", livestate.New(func() livestate.Channel[slowState] {
		return &slowChannel{started: started, release: release, closed: closed}
	}, livestate.Options{ResumeGrace: -1}))

	c := open(t, reg)
	c.send(`["1","1","slow:1","phx_join",{}]`)
	c.expect(`["1","1","slow:1","phx_reply",{"status":"ok","response":{}}]`)
	c.expectEvent("slow:1", "state:change")
	c.push("slow:1", "lvs_evt:slow", `{}`)
	recv(t, started)
	c.Sess.Detach() // the client goes away while the event runs
	close(release)
	if err := recv(t, closed); !errors.Is(err, phx.ErrDisconnected) {
		t.Fatalf("Closed reason %v", err)
	}
	if got := logs.levels("livestate: state update not sent"); len(got) != 1 || got[0] != slog.LevelDebug {
		t.Errorf("update after the disconnect logged at %v, want one Debug record", got)
	}
	if got := logs.levels("livestate: emitted event not sent"); len(got) != 1 || got[0] != slog.LevelDebug {
		t.Errorf("emit after the disconnect logged at %v, want one Debug record", got)
	}
	if got := logs.levels("livestate: state not synced"); len(got) != 0 {
		t.Errorf("ordinary disconnect logged as 'state not synced' at %v", got)
	}

	c2 := open(t, reg)
	c2.send(`["1","1","slow:2","phx_join",{}]`)
	c2.expect(`["1","1","slow:2","phx_reply",{"status":"ok","response":{}}]`)
	c2.expectEvent("slow:2", "state:change")
	c2.push("slow:2", "lvs_evt:break", `{}`)
	c2.expect(`["1",null,"slow:2","error",{"message":"state could not be encoded"}]`)
	if got := logs.levels("livestate: state not synced"); len(got) != 1 || got[0] != slog.LevelError {
		t.Errorf("encoding failure logged at %v, want one Error record", got)
	}
}
