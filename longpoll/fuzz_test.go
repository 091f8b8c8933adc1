package longpoll

// Seed corpora live in testdata/fuzz/<FuzzName>/. Run a target with e.g.
//
//	go test -run '^$' -fuzz FuzzPostBody -fuzztime 30s ./longpoll/

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seance-go/seance/phx"
)

// FuzzPostBody posts any body, ndjson or not, to a live session through the
// whole POST path (body checks, line splitting, the engine): the answer is
// always HTTP 200 with {"status":200} or {"status":400}, 200 only for a
// valid UTF-8 body, and a body that is not UTF-8 ends the session.
func FuzzPostBody(f *testing.F) {
	ep := phx.NewEndpoint(phx.Config{Logger: quiet})
	ep.Handle("room:*", phx.HandlerFuncs{InFunc: func(_ context.Context, _ *phx.Channel, m *phx.Message) (*phx.Reply, error) {
		return phx.Ok(m.Payload), nil
	}})
	h := New(ep, Options{Logger: quiet, MaxSessions: 1 << 30, MaxSessionsPerIP: 1 << 30})
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		ep.Shutdown(ctx)
	})
	answer := func(t *testing.T, method, target string, header http.Header, body []byte) pollReply {
		t.Helper()
		req := httptest.NewRequest(method, target, bytes.NewReader(body))
		req.Header = header
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var r pollReply
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
			t.Fatalf("%s: HTTP %d %q", method, rec.Code, rec.Body.Bytes())
		}
		return r
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		open := answer(t, http.MethodGet, "/socket/longpoll?vsn=2.0.0", http.Header{}, nil)
		if open.Status != 410 {
			t.Fatalf("open: %+v", open)
		}
		target := "/socket/longpoll?vsn=2.0.0&token=" + url.QueryEscape(open.Token)
		header := http.Header{}
		if ndjson {
			header.Set("Content-Type", ndjsonType)
		}
		r := answer(t, http.MethodPost, target, header, body)
		switch {
		case r.Status != 200 && r.Status != 400:
			t.Fatalf("POST answered %d", r.Status)
		case r.Status == 200 && !utf8.Valid(body):
			t.Fatalf("POST of a body that is not UTF-8 answered 200")
		}
		id, _ := h.tokens.verify(open.Token)
		h.mu.Lock()
		s := h.sessions[id]
		h.mu.Unlock()
		if !utf8.Valid(body) && s != nil && s.sess.Context().Err() == nil {
			t.Fatalf("the session outlived a body that is not UTF-8")
		}
		if s != nil {
			s.sess.Close(phx.ErrDisconnected)
		}
	})
}
