package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seance-go/seance/client"
	"github.com/seance-go/seance/phx"
)

// These tests run the client against OUR server (server_test.go) over both
// transports.

func TestIntegrationJoinPushLeave(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := startServer(t, 1, nil)
			s := dialServer(t, ts, tr.t, nil)
			ctx := testCtx(t)

			ch, resp, err := s.Join(ctx, "room:1", map[string]any{"a": 1})
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			if d := cmp.Diff(map[string]any{"joined": "room:1", "server": 1.0}, decodeJSON(t, resp)); d != "" {
				t.Errorf("join response (-want +got):\n%s", d)
			}
			j := recv(t, ts.joins)
			if string(j.params) != `{"a":1}` {
				t.Errorf("server saw join params %s", j.params)
			}

			if d := cmp.Diff(map[string]any{"x": 1.0, "s": "é\u2028"}, mustPush(t, ch, "echo", map[string]any{"x": 1, "s": "é\u2028"})); d != "" {
				t.Errorf("echo reply (-want +got):\n%s", d)
			}
			// A frame far larger than the transport's buffers, both ways.
			big := strings.Repeat("0123456789abcdef", 1<<14) // 256 KiB
			if got := mustPush(t, ch, "echo", map[string]any{"big": big}); got.(map[string]any)["big"] != big {
				t.Error("a 256 KiB echo came back different")
			}
			who := mustPush(t, ch, "whoami", nil).(map[string]any)
			if who["join_ref"] != j.joinRef || who["transport"] != tr.name {
				t.Errorf("whoami = %v, want join_ref %q and transport %q", who, j.joinRef, tr.name)
			}

			// A non-ok reply is a reply, not an error.
			r, err := ch.Push(ctx, "nope", nil)
			if err != nil {
				t.Fatalf("push nope: %v", err)
			}
			var re *client.ReplyError
			if !errors.As(r.Err(), &re) || re.Status != "error" || string(re.Response) != `{"reason":"unknown event nope"}` {
				t.Errorf("reply to unknown event = %+v, %v", r, r.Err())
			}

			if err := ch.Leave(ctx); err != nil {
				t.Fatalf("Leave: %v", err)
			}
			<-ch.Done()
			if !errors.Is(ch.Err(), client.ErrChannelClosed) {
				t.Errorf("Err after Leave = %v", ch.Err())
			}
			if reason := recv(t, ts.ended); !errors.Is(reason, phx.ErrLeft) {
				t.Errorf("server channel ended with %v, want phx.ErrLeft", reason)
			}
			if _, err := ch.Push(ctx, "echo", nil); !errors.Is(err, client.ErrChannelClosed) {
				t.Errorf("push after Leave: %v, want ErrChannelClosed", err)
			}

			// The topic can be joined again, under a new join_ref.
			ch2, _, err := s.Join(ctx, "room:1", nil)
			if err != nil {
				t.Fatalf("second Join: %v", err)
			}
			if j2 := recv(t, ts.joins); j2.joinRef == j.joinRef || string(j2.params) != "{}" {
				t.Errorf("second join: ref %q (first %q), params %s", j2.joinRef, j.joinRef, j2.params)
			}
			mustPush(t, ch2, "echo", nil)
		})
	}
}

func TestIntegrationServerPushAndBroadcast(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := startServer(t, 1, nil)
			ctx := testCtx(t)
			var chans [2]*client.Channel
			var inbox [2]chan client.Message
			for i := range chans {
				s := dialServer(t, ts, tr.t, nil)
				chans[i] = s.Channel("room:lobby", nil)
				inbox[i] = make(chan client.Message, 10)
				stop := chans[i].Notify(inbox[i], "shout", "news", "server_push")
				t.Cleanup(stop)
				if _, err := chans[i].Join(ctx); err != nil {
					t.Fatalf("Join %d: %v", i, err)
				}
			}
			joinRef0 := mustPush(t, chans[0], "whoami", nil).(map[string]any)["join_ref"]

			// A client push the server broadcasts reaches both clients.
			mustPush(t, chans[0], "shout", map[string]any{"m": "hi"})
			for i := range inbox {
				m := recv(t, inbox[i])
				if m.Event != "shout" || string(m.Payload) != `{"m":"hi"}` || m.Topic != "room:lobby" || m.JoinRef != "" || m.Binary {
					t.Errorf("client %d got %+v, want the shout broadcast with a null join_ref", i, m)
				}
			}

			// So does a broadcast from outside any channel.
			if _, err := ts.reg.Broadcast(context.Background(), "room:lobby", "news", map[string]any{"n": 1}); err != nil {
				t.Fatal(err)
			}
			for i := range inbox {
				if m := recv(t, inbox[i]); m.Event != "news" || string(m.Payload) != `{"n":1}` {
					t.Errorf("client %d got %+v, want news 1", i, m)
				}
			}

			// A server push reaches only its own client, with its join_ref.
			mustPush(t, chans[0], "push_me", map[string]any{"p": 1})
			if m := recv(t, inbox[0]); m.Event != "server_push" || string(m.Payload) != `{"p":1}` || m.JoinRef != joinRef0 {
				t.Errorf("client 0 got %+v, want server_push with join_ref %v", m, joinRef0)
			}
			if _, err := ts.reg.Broadcast(context.Background(), "room:lobby", "news", map[string]any{"n": 2}); err != nil {
				t.Fatal(err)
			}
			for i := range inbox {
				if m := recv(t, inbox[i]); m.Event != "news" || string(m.Payload) != `{"n":2}` {
					t.Errorf("client %d got %+v, want news 2 (and no server_push for client 1)", i, m)
				}
			}
		})
	}
}

func TestIntegrationBinary(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := startServer(t, 1, nil)
			s := dialServer(t, ts, tr.t, nil)
			ctx := testCtx(t)
			ch := s.Channel("room:bin", nil)
			pushes := make(chan client.Message, 10)
			defer ch.Notify(pushes, "bin_push")()
			if _, err := ch.Join(ctx); err != nil {
				t.Fatal(err)
			}
			joinRef := mustPush(t, ch, "whoami", nil).(map[string]any)["join_ref"]

			// A binary push arrives as binary over both transports (base64
			// ndjson line over long-poll).
			got := mustPush(t, ch, "bin_info", client.Binary{1, 2, 3})
			if d := cmp.Diff(map[string]any{"binary": true, "data": "AQID"}, got); d != "" {
				t.Errorf("server saw binary push (-want +got):\n%s", d)
			}

			r, err := ch.Push(ctx, "bin", client.Binary{1, 2, 3})
			if err != nil {
				t.Fatalf("push bin: %v", err)
			}
			pushed := mustPush(t, ch, "push_bin", nil)
			switch tr.t {
			case client.WebSocket:
				if r.Status != "ok" || !r.Binary || !bytes.Equal(r.Response, []byte{3, 2, 1}) {
					t.Errorf("binary reply = %+v, want ok binary [3 2 1]", r)
				}
				if d := cmp.Diff(map[string]any{"ok": true, "unsupported": false}, pushed); d != "" {
					t.Errorf("push_bin (-want +got):\n%s", d)
				}
				m := recv(t, pushes)
				if !m.Binary || !bytes.Equal(m.Payload, []byte{0xde, 0xad, 0xbe, 0xef}) || m.JoinRef != joinRef || m.Topic != "room:bin" {
					t.Errorf("binary push = %+v", m)
				}
			case client.LongPoll:
				// Long-poll carries no outbound binary frame: the engine
				// refuses a binary reply (and says so in an error reply
				// instead of letting the push time out) and a binary push.
				if r.Status != "error" || r.Binary || string(r.Response) != `{"reason":"reply not sendable"}` {
					t.Errorf("binary reply over long-poll = %+v %s, want error {reason: reply not sendable}", r, r.Response)
				}
				if d := cmp.Diff(map[string]any{"ok": false, "unsupported": true}, pushed); d != "" {
					t.Errorf("push_bin over long-poll (-want +got):\n%s", d)
				}
			}
			// The channel works on.
			if got := mustPush(t, ch, "echo", map[string]any{"after": "binary"}); got.(map[string]any)["after"] != "binary" {
				t.Errorf("echo after binary = %v", got)
			}
			select {
			case m := <-pushes:
				if tr.t == client.LongPoll {
					t.Errorf("long-poll client received a binary push %+v", m)
				}
			default:
			}
		})
	}
}

func TestIntegrationReconnectAfterServerRestart(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := startServer(t, 1, nil)
			var attempts atomic.Int64
			s := dialServer(t, ts, tr.t, &client.Options{
				ParamsFunc: func() map[string]any { return map[string]any{"attempt": attempts.Add(1)} },
			})
			ctx := testCtx(t)
			ch, _, err := s.Join(ctx, "room:r", map[string]any{"a": 1})
			if err != nil {
				t.Fatal(err)
			}
			j1 := recv(t, ts.joins)
			if c := recv(t, ts.connects); c.info.Params["attempt"] != "1" {
				t.Errorf("first connect params %v", c.info.Params)
			}

			ts2 := ts.restart(t)
			j2 := recv(t, ts2.joins)
			if j2.topic != "room:r" || string(j2.params) != `{"a":1}` || j2.joinRef == j1.joinRef {
				t.Errorf("rejoin on the new server = %+v (first join %+v)", j2, j1)
			}
			c := recv(t, ts2.connects)
			if _, stale := c.info.Params["token"]; stale && tr.t == client.LongPoll {
				// The poll loop's next GET reached the new server with the
				// old session token: like Phoenix, the server opened a new
				// session for it (connect hook included, the stale token
				// left in the params) and answered 410, which the client,
				// like phoenix.js, takes as "session gone" and reconnects.
				t.Logf("long-poll GET with a stale token opened an orphan session: %v", c.info.Params)
				c = recv(t, ts2.connects)
			}
			if n, _ := strconv.Atoi(fmt.Sprint(c.info.Params["attempt"])); n < 2 {
				t.Errorf("reconnect carried params %v, want a fresh ParamsFunc value", c.info.Params)
			}
			// The same Channel value works against the new server.
			who := mustPush(t, ch, "whoami", nil).(map[string]any)
			if who["server"] != 2.0 || who["join_ref"] != j2.joinRef {
				t.Errorf("whoami after restart = %v, want server 2 and join_ref %q", who, j2.joinRef)
			}
			if !s.Connected() || ch.Err() != nil {
				t.Errorf("Connected = %v, channel Err = %v", s.Connected(), ch.Err())
			}
		})
	}
}

func TestIntegrationRejoinAfterChannelCrash(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := startServer(t, 1, nil)
			s := dialServer(t, ts, tr.t, nil)
			ctx := testCtx(t)
			ch := s.Channel("room:crash", map[string]any{"k": "v"})
			errs := make(chan client.Message, 10)
			defer ch.Notify(errs, "phx_error")()
			if _, err := ch.Join(ctx); err != nil {
				t.Fatal(err)
			}
			j1 := recv(t, ts.joins)

			_, err := ch.Push(ctx, "crash", nil)
			var ce *client.ChannelError
			if !errors.As(err, &ce) || ce.Topic != "room:crash" || string(ce.Payload) != `{"reason":"channel_crash"}` {
				t.Fatalf("push that crashed the channel: %v, want *ChannelError channel_crash", err)
			}
			if m := recv(t, errs); m.JoinRef != j1.joinRef {
				t.Errorf("phx_error %+v, want join_ref %q", m, j1.joinRef)
			}
			if reason := recv(t, ts.ended); !errors.Is(reason, phx.ErrCrashed) {
				t.Errorf("server channel ended with %v, want phx.ErrCrashed", reason)
			}
			j2 := recv(t, ts.joins)
			if j2.joinRef == j1.joinRef || string(j2.params) != `{"k":"v"}` {
				t.Errorf("rejoin %+v after %+v", j2, j1)
			}
			if got := mustPush(t, ch, "whoami", nil).(map[string]any); got["join_ref"] != j2.joinRef {
				t.Errorf("whoami after rejoin = %v, want join_ref %q", got, j2.joinRef)
			}
			if ch.Err() != nil {
				t.Errorf("channel Err after rejoin = %v", ch.Err())
			}
		})
	}
}

func TestIntegrationAuthTokenAndConnectParams(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ts := startServer(t, 1, nil)
			ctx := testCtx(t)
			params := map[string]any{"user": "ann", "meta": map[string]any{"k": "v w&x"}}

			s, err := client.Dial(ctx, ts.url(), integrationOptions(tr.t, &client.Options{Params: params, AuthToken: "wrong"}))
			var he *client.HandshakeError
			if !errors.As(err, &he) || he.StatusCode != 403 || s != nil {
				t.Fatalf("Dial with a wrong token = %v, %v; want *HandshakeError 403", s, err)
			}
			if c := recv(t, ts.connects); c.info.AuthToken != "wrong" {
				t.Errorf("hook saw token %q", c.info.AuthToken)
			}

			s = dialServer(t, ts, tr.t, &client.Options{Params: params, AuthToken: goodToken, ClientID: "tab-1"})
			c := recv(t, ts.connects)
			wantParams := map[string]any{"user": "ann", "meta": map[string]any{"k": "v w&x"}, "vsn": "2.0.0", "client_id": "tab-1"}
			if d := cmp.Diff(wantParams, c.info.Params); d != "" {
				t.Errorf("connect params at the hook (-want +got):\n%s", d)
			}
			if c.info.AuthToken != goodToken || c.info.Transport != tr.name {
				t.Errorf("hook saw token %q transport %q", c.info.AuthToken, c.info.Transport)
			}

			ch, _, err := s.Join(ctx, "room:me", nil)
			if err != nil {
				t.Fatal(err)
			}
			who := mustPush(t, ch, "whoami", nil).(map[string]any)
			if who["identity"] != "user:ann" {
				t.Errorf("identity = %v, want user:ann", who["identity"])
			}
			if d := cmp.Diff(any(wantParams), who["params"]); d != "" {
				t.Errorf("params seen by the channel (-want +got):\n%s", d)
			}
		})
	}
}
