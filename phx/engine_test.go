package phx_test

import (
	"encoding/json"
	"testing"

	"github.com/seance-go/seance/phx"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// step feeds one frame (text, or binary when bin is set) and expects exactly
// the frames of out, in order; terms lists channels that must then have
// terminated with the given reason.
type step struct {
	in    string
	bin   []byte
	out   []string
	terms []termWant
}

type termWant struct {
	topic, joinRef string
	reason         error
}

const (
	okEmpty = `{"status":"ok","response":{}}`
)

// TestEngineClauses walks every clause of phoenix-channels.md §3 over raw
// frames through an in-process session.
func TestEngineClauses(t *testing.T) {
	join := func(joinRef, topic string) step {
		return step{
			in:  `["` + joinRef + `","` + joinRef + `","` + topic + `","phx_join",{}]`,
			out: []string{`["` + joinRef + `","` + joinRef + `","` + topic + `","phx_reply",` + okEmpty + `]`},
		}
	}
	tests := []struct {
		name  string
		cfg   phx.Config
		steps []step
	}{
		{name: "heartbeat", steps: []step{{
			in:  `[null,"1","phoenix","heartbeat",{}]`,
			out: []string{`[null,"1","phoenix","phx_reply",` + okEmpty + `]`},
		}}},
		{name: "heartbeat nshafer style", steps: []step{{
			in:  `["","7","phoenix","heartbeat",null]`,
			out: []string{`[null,"7","phoenix","phx_reply",` + okEmpty + `]`},
		}}},
		{name: "heartbeat with a join_ref still gets a null join_ref", steps: []step{{
			in:  `["5","8","phoenix","heartbeat",{}]`,
			out: []string{`[null,"8","phoenix","phx_reply",` + okEmpty + `]`},
		}}},
		{name: "join ok", steps: []step{join("1", "room:1")}},
		{name: "join ok with reply payload", steps: []step{{
			in:  `["3","4","room:reply","phx_join",{"user":"ann"}]`,
			out: []string{`["3","4","room:reply","phx_reply",{"status":"ok","response":{"welcome":"ann"}}]`},
		}}},
		{name: "join with null payload (nshafer)", steps: []step{{
			in:  `["1","1","room:1","phx_join",null]`,
			out: []string{`["1","1","room:1","phx_reply",` + okEmpty + `]`},
		}}},
		{name: "join with null join_ref uses the ref", steps: []step{
			{
				in:  `[null,"6","room:1","phx_join",{}]`,
				out: []string{`[null,"6","room:1","phx_reply",` + okEmpty + `]`},
			},
			{
				in:  `["6","7","room:1","echo",{"a":1}]`,
				out: []string{`["6","7","room:1","phx_reply",{"status":"ok","response":{"a":1}}]`},
			},
		}},
		{name: "join error with a plain error", steps: []step{
			{
				in:  `["1","1","room:refuse","phx_join",{}]`,
				out: []string{`["1","1","room:refuse","phx_reply",{"status":"error","response":{"reason":"not allowed"}}]`},
			},
			{ // no channel remains
				in:  `["1","2","room:refuse","echo",{}]`,
				out: []string{`[null,"2","room:refuse","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]`},
			},
		}},
		{name: "join error with a JoinError is verbatim", steps: []step{{
			in:  `["1","1","room:joinerror","phx_join",{}]`,
			out: []string{`["1","1","room:joinerror","phx_reply",{"status":"error","response":{"code":42,"why":"banned"}}]`},
		}}},
		{name: "unmatched topic on join", steps: []step{{
			in:  `["1","1","nope","phx_join",{}]`,
			out: []string{`[null,"1","nope","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]`},
		}}},
		{name: "unmatched topic on a message", steps: []step{{
			in:  `["3","12300","room:x","new_msg",{}]`,
			out: []string{`[null,"12300","room:x","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]`},
		}}},
		{name: "too many channels", cfg: phx.Config{MaxChannels: 2}, steps: []step{
			join("1", "room:1"),
			join("2", "room:2"),
			{
				in:  `["3","3","room:3","phx_join",{}]`,
				out: []string{`["3","3","room:3","phx_reply",{"status":"error","response":{"reason":"too many channels joined"}}]`},
			},
			// a duplicate join replaces a channel, it does not add one
			{
				in: `["4","4","room:2","phx_join",{}]`,
				out: []string{
					`["4","4","room:2","phx_reply",` + okEmpty + `]`,
					`["2","2","room:2","phx_close",{}]`,
				},
				terms: []termWant{{"room:2", "2", phx.ErrDuplicateJoin}},
			},
			{
				in: `["1","5","room:1","phx_leave",{}]`,
				out: []string{
					`["1","5","room:1","phx_reply",` + okEmpty + `]`,
					`["1","1","room:1","phx_close",{}]`,
				},
			},
			join("6", "room:3"),
		}},
		{name: "join crashed", steps: []step{{
			in:  `["1","1","room:crash","phx_join",{}]`,
			out: []string{`["1","1","room:crash","phx_reply",{"status":"error","response":{"reason":"join crashed"}}]`},
		}, join("2", "room:ok")}},
		{name: "duplicate join closes the old channel after the new reply", steps: []step{
			join("1", "room:1"),
			{
				in: `["3","3","room:1","phx_join",{}]`,
				out: []string{
					`["3","3","room:1","phx_reply",` + okEmpty + `]`,
					`["1","1","room:1","phx_close",{}]`,
				},
				terms: []termWant{{"room:1", "1", phx.ErrDuplicateJoin}},
			},
			{in: `["1","4","room:1","echo",{}]`}, // the old join_ref is now stale
			{
				in:  `["3","5","room:1","echo",{"v":3}]`,
				out: []string{`["3","5","room:1","phx_reply",{"status":"ok","response":{"v":3}}]`},
			},
		}},
		{name: "stale join_ref dropped silently", steps: []step{
			join("1", "room:1"),
			{in: `["9","2","room:1","echo",{}]`},
			{in: `["9","3","room:1","phx_leave",{}]`}, // a stale leave too
			{
				in:  `["1","4","room:1","echo",{"still":"joined"}]`,
				out: []string{`["1","4","room:1","phx_reply",{"status":"ok","response":{"still":"joined"}}]`},
			},
		}},
		{name: "null and empty join_ref delivered", steps: []step{
			join("1", "room:1"),
			{
				in:  `[null,"2","room:1","echo",{"a":1}]`,
				out: []string{`["1","2","room:1","phx_reply",{"status":"ok","response":{"a":1}}]`},
			},
			{
				in:  `["","3","room:1","echo",null]`,
				out: []string{`["1","3","room:1","phx_reply",{"status":"ok","response":{}}]`},
			},
		}},
		{name: "leave", steps: []step{
			join("1", "room:1"),
			{
				in: `["1","2","room:1","phx_leave",{}]`,
				out: []string{
					`["1","2","room:1","phx_reply",` + okEmpty + `]`,
					`["1","1","room:1","phx_close",{}]`,
				},
				terms: []termWant{{"room:1", "1", phx.ErrLeft}},
			},
			{
				in:  `["1","3","room:1","echo",{}]`,
				out: []string{`[null,"3","room:1","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]`},
			},
			join("4", "room:1"), // rejoin after leave
		}},
		{name: "leave with a null join_ref", steps: []step{
			join("1", "room:1"),
			{
				in: `[null,"2","room:1","phx_leave",{}]`,
				out: []string{
					`["1","2","room:1","phx_reply",` + okEmpty + `]`,
					`["1","1","room:1","phx_close",{}]`,
				},
				terms: []termWant{{"room:1", "1", phx.ErrLeft}},
			},
		}},
		{name: "leave of a topic not joined", steps: []step{{
			in:  `["4","5","room:9","phx_leave",{}]`,
			out: []string{`["4","5","room:9","phx_reply",` + okEmpty + `]`},
		}}},
		{name: "server close", steps: []step{
			join("1", "room:1"),
			{
				in:    `["1","2","room:1","close",{}]`,
				out:   []string{`["1","1","room:1","phx_close",{}]`},
				terms: []termWant{{"room:1", "1", phx.ErrServerClose}},
			},
			{
				in:  `["1","3","room:1","echo",{}]`,
				out: []string{`[null,"3","room:1","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]`},
			},
		}},
		{name: "crash in HandleIn is confined to its channel", steps: []step{
			join("1", "room:1"),
			join("2", "room:2"),
			{
				in:    `["1","3","room:1","panic",{}]`,
				out:   []string{`["1","1","room:1","phx_error",{"reason":"channel_crash"}]`},
				terms: []termWant{{"room:1", "1", phx.ErrCrashed}},
			},
			{
				in:  `["2","4","room:2","echo",{"alive":true}]`,
				out: []string{`["2","4","room:2","phx_reply",{"status":"ok","response":{"alive":true}}]`},
			},
			{
				in:  `["1","5","room:1","echo",{}]`,
				out: []string{`[null,"5","room:1","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]`},
			},
			join("6", "room:1"), // the client rejoins
		}},
		{name: "handler error and custom status", steps: []step{
			join("1", "room:1"),
			{
				in:  `["1","2","room:1","error",{}]`,
				out: []string{`["1","2","room:1","phx_reply",{"status":"error","response":{"reason":"it failed"}}]`},
			},
			{
				in:  `["1","3","room:1","status",{}]`,
				out: []string{`["1","3","room:1","phx_reply",{"status":"custom","response":{"x":1}}]`},
			},
			{in: `["1","4","room:1","noreply",{}]`},
			{
				in:  `["1","5","room:1","later",{}]`,
				out: []string{`["1","5","room:1","phx_reply",{"status":"ok","response":{"late":"yes"}}]`},
			},
		}},
		{name: "event on a channel without InFunc", steps: []step{
			join("1", "plain"),
			{
				in:  `["1","2","plain","anything",{}]`,
				out: []string{`["1","2","plain","phx_reply",{"status":"error","response":{"reason":"unhandled event"}}]`},
			},
		}},
		{name: "never a null payload", steps: []step{
			join("1", "room:1"),
			{in: `["1","2","room:1","pushnil",{}]`, out: []string{`["1",null,"room:1","pushed",{}]`}},
			{in: `["1","3","room:1","nilreply",{}]`, out: []string{`["1","3","room:1","phx_reply",` + okEmpty + `]`}},
			{in: `["1","4","room:1","nullraw",{}]`, out: []string{`["1","4","room:1","phx_reply",` + okEmpty + `]`}},
			{in: `["1","5","room:1","nilptr",{}]`, out: []string{`["1","5","room:1","phx_reply",` + okEmpty + `]`}},
			{in: `["1","6","room:1","push",null]`, out: []string{`["1",null,"room:1","pushed",{}]`}},
			{in: `["1","7","room:1","echo",null]`, out: []string{`["1","7","room:1","phx_reply",` + okEmpty + `]`}},
		}},
		{name: "push carries the join_ref and a null ref", steps: []step{
			join("1", "room:1"),
			{in: `["1","2","room:1","push",{"x":[1,"two"]}]`, out: []string{`["1",null,"room:1","pushed",{"x":[1,"two"]}]`}},
			{in: `["1","3","room:1","push","a string"]`, out: []string{`["1",null,"room:1","pushed","a string"]`}},
		}},
		{name: "a reply that cannot be encoded gets an error reply", steps: []step{
			join("1", "room:1"),
			{in: `["1","2","room:1","unencodable",{}]`, out: []string{`["1","2","room:1","phx_reply",{"status":"error","response":{"reason":"reply not sendable"}}]`}},
		}},
		{name: "AfterJoin pushes follow the join reply", steps: []step{{
			in: `["1","1","room:after","phx_join",{}]`,
			out: []string{
				`["1","1","room:after","phx_reply",` + okEmpty + `]`,
				`["1",null,"room:after","after_join",{"n":1}]`,
				`["1",null,"room:after","after_join",{"n":2}]`,
			},
		}}},
		{name: "Push inside Join is refused", steps: []step{{
			in:  `["1","1","room:pushinjoin","phx_join",{}]`,
			out: []string{`["1","1","room:pushinjoin","phx_reply",{"status":"ok","response":{"push":"phx: channel not joined yet"}}]`},
		}}},
		{name: "identity and connect info", steps: []step{{
			in:  `["1","1","room:identity","phx_join",{}]`,
			out: []string{`["1","1","room:identity","phx_reply",{"status":"ok","response":{"identity":"tester","transport":"test"}}]`},
		}}},
		{name: "Send reaches HandleInfo after the reply", steps: []step{
			join("1", "room:1"),
			{in: `["1","2","room:1","send",{"v":1}]`, out: []string{
				`["1","2","room:1","phx_reply",` + okEmpty + `]`,
				`["1",null,"room:1","info",{"v":1}]`,
			}},
		}},
		{name: "Set and Value", steps: []step{
			join("1", "room:1"),
			{in: `["1","2","room:1","set","x"]`, out: []string{`["1","2","room:1","phx_reply",` + okEmpty + `]`}},
			{in: `["1","3","room:1","get",{}]`, out: []string{`["1","3","room:1","phx_reply",{"status":"ok","response":{"k":"\"x\""}}]`}},
		}},
		{name: "unknown events get the handler's error", steps: []step{
			join("1", "room:1"),
			{in: `["1","2","room:1","what",{}]`, out: []string{`["1","2","room:1","phx_reply",{"status":"error","response":{"reason":"unknown event what"}}]`}},
		}},
		{name: "binary push in, binary push and reply out", steps: []step{
			join("1", "room:1"),
			{
				bin: binaryPush("1", "2", "room:1", "binary", []byte{1, 2, 3}),
				out: []string{
					`{"bin":0,"join_ref":"1","ref":"","topic":"room:1","event":"bin_push","hex":"703a010203"}`,
					`{"bin":1,"join_ref":"1","ref":"2","topic":"room:1","event":"ok","hex":"723a010203"}`,
				},
			},
			{ // a binary push with empty refs is a null join_ref: delivered
				bin: binaryPush("", "3", "room:1", "binary", nil),
				out: []string{
					`{"bin":0,"join_ref":"1","ref":"","topic":"room:1","event":"bin_push","hex":"703a"}`,
					`{"bin":1,"join_ref":"1","ref":"3","topic":"room:1","event":"ok","hex":"723a"}`,
				},
			},
			{bin: binaryPush("9", "4", "room:1", "binary", []byte{9})}, // stale
			{
				bin: binaryPush("", "5", "phoenix", "heartbeat", nil),
				out: []string{`[null,"5","phoenix","phx_reply",` + okEmpty + `]`},
			},
		}},
		{name: "binary join", steps: []step{{
			bin: binaryPush("1", "1", "room:1", "phx_join", []byte{0xff}),
			out: []string{`["1","1","room:1","phx_reply",` + okEmpty + `]`},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, rec := newEndpoint(t, tt.cfg)
			c := open(t, ep)
			for i, st := range tt.steps {
				if st.bin != nil {
					c.sendBinary(st.bin)
				} else {
					c.send(st.in)
				}
				c.expect(st.out...)
				for _, tw := range st.terms {
					rec.expectReason(t, tw.topic, tw.joinRef, tw.reason)
				}
				if t.Failed() {
					t.Fatalf("step %d (%s) failed", i, st.in)
				}
			}
			c.expectNothing()
		})
	}
}

// TestJoinLeaveJoinQuickly: phoenix.js may flush join, leave and a new join
// at once (§9). The old channel's leave reply and phx_close come from its
// own goroutine, so they may interleave with the new join's reply, but the
// leave reply precedes its phx_close and the new channel works.
func TestJoinLeaveJoinQuickly(t *testing.T) {
	ep, rec := newEndpoint(t, phx.Config{})
	c := open(t, ep)
	c.send(`["1","1","room:1","phx_join",{}]`)
	c.send(`["1","2","room:1","phx_leave",{}]`)
	c.send(`["3","3","room:1","phx_join",{}]`)
	want := []string{
		`["1","1","room:1","phx_reply",` + okEmpty + `]`,
		`["1","2","room:1","phx_reply",` + okEmpty + `]`,
		`["1","1","room:1","phx_close",{}]`,
		`["3","3","room:1","phx_reply",` + okEmpty + `]`,
	}
	pos := map[string]int{}
	for i := range want {
		b, _ := json.Marshal(c.next())
		pos[string(b)] = i
	}
	for _, w := range want {
		b, _ := json.Marshal(norm(t, w))
		if _, ok := pos[string(b)]; !ok {
			t.Errorf("missing frame %s; got %v", w, pos)
		}
	}
	if pos[mustCompact(t, want[0])] != 0 {
		t.Errorf("the first join's reply is not first: %v", pos)
	}
	if pos[mustCompact(t, want[1])] > pos[mustCompact(t, want[2])] {
		t.Errorf("phx_close before the leave reply: %v", pos)
	}
	rec.expectReason(t, "room:1", "1", phx.ErrLeft)
	c.send(`["3","4","room:1","echo",{"n":4}]`)
	c.expect(`["3","4","room:1","phx_reply",{"status":"ok","response":{"n":4}}]`)
	c.expectNothing()
}

func mustCompact(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(norm(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
