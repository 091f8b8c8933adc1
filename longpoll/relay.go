package longpoll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/seance-go/seance/cluster"
)

// relayService is the cluster service name of the long-poll relay.
const relayService = "longpoll"

// relayRequest is a GET or POST that arrived at a node other than the
// session's owner, as sent to the owner. Origin and CORS were checked by the
// node the client reached.
type relayRequest struct {
	Method      string `json:"m"`
	Query       string `json:"q,omitempty"`
	Token       string `json:"t,omitempty"` // X-Phoenix-Longpoll-Token
	ContentType string `json:"ct,omitempty"`
	RemoteAddr  string `json:"ra,omitempty"`
	Body        []byte `json:"b,omitempty"`
}

// relayReply is the owner's answer: the JSON body it wrote, or Gone when
// the session does not exist there (any more).
type relayReply struct {
	Gone bool            `json:"gone,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
}

// relayed serves r by relaying it to the node owning its session when that
// is another node; it reports whether it did.
func (h *Handler) relayed(w http.ResponseWriter, r *http.Request) bool {
	c := h.opts.Cluster
	if c == nil || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		return false
	}
	token := sessionToken(r)
	if token == "" {
		return false
	}
	_, owner, ok := h.tokens.verifyOwner(token)
	if !ok || owner == "" || owner == c.Name() {
		return false
	}
	req := relayRequest{
		Method:      r.Method,
		Query:       r.URL.RawQuery,
		Token:       r.Header.Get("X-Phoenix-Longpoll-Token"),
		ContentType: r.Header.Get("Content-Type"),
		RemoteAddr:  r.RemoteAddr,
	}
	if r.Method == http.MethodPost {
		body, status := h.readBody(w, r)
		if status != 0 {
			writeJSON(w, statusReply{Status: status})
			return true
		}
		req.Body = body
	}
	payload, err := json.Marshal(req)
	if err != nil {
		writeJSON(w, statusReply{Status: 500})
		return true
	}
	resp, err := c.Request(r.Context(), owner, relayService, payload)
	var rep relayReply
	if err == nil {
		err = json.Unmarshal(resp, &rep)
	}
	switch {
	case err == nil && !rep.Gone:
		hd := w.Header()
		hd.Set("Content-Type", "application/json; charset=utf-8")
		hd.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		w.Write(append(rep.Body, '\n')) // as writeJSON's encoder
	case err == nil, errors.Is(err, cluster.ErrUnreachable), errors.Is(err, cluster.ErrNoHandler), errors.Is(err, cluster.ErrClosed):
		// The owner is gone, or the session is: as for an expired session,
		// a GET opens a new one here and a POST gets 410.
		if err != nil {
			h.log.Info("longpoll: session owner unreachable", "owner", owner, "error", err, "remote", r.RemoteAddr)
		}
		if r.Method == http.MethodGet {
			h.open(w, r, h.queryTokenIsOurs(r))
		} else {
			writeJSON(w, statusReply{Status: 410})
		}
	case r.Context().Err() != nil:
		// The client went away.
	default:
		h.log.Warn("longpoll: relay failed", "owner", owner, "error", err, "remote", r.RemoteAddr)
		writeJSON(w, statusReply{Status: 500})
	}
	return true
}

// readBody reads a POST body within MaxBodyBytes; a non-zero status is the
// refusal to answer (413 too large, 400 unreadable).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	if r.ContentLength > h.opts.MaxBodyBytes {
		return nil, 413
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, 413
		}
		return nil, 400
	}
	return body, 0
}

// serveRelayed answers a request relayed by another node, on the session's
// owner.
func (h *Handler) serveRelayed(ctx context.Context, from string, payload []byte) ([]byte, error) {
	var req relayRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	if req.Method != http.MethodGet && req.Method != http.MethodPost {
		return nil, errors.New("longpoll: relayed method " + req.Method)
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, "/longpoll?"+req.Query, http.NoBody)
	if err != nil {
		return nil, err
	}
	r.RemoteAddr = req.RemoteAddr
	if req.Token != "" {
		r.Header.Set("X-Phoenix-Longpoll-Token", req.Token)
	}
	if req.ContentType != "" {
		r.Header.Set("Content-Type", req.ContentType)
	}
	s, _ := h.lookup(r)
	if s == nil {
		return json.Marshal(relayReply{Gone: true})
	}
	var rec recorder
	if req.Method == http.MethodGet {
		if h.poll(&rec, r, s) {
			return json.Marshal(relayReply{Gone: true})
		}
	} else {
		h.receive(&rec, r, s, req.Body)
	}
	return json.Marshal(relayReply{Body: rec.buf.Bytes()})
}

// recorder keeps the body a handler writes for a relayed request; the
// status is always 200 (phoenix.js reads the status from the body).
type recorder struct {
	hd  http.Header
	buf bytes.Buffer
}

func (r *recorder) Header() http.Header {
	if r.hd == nil {
		r.hd = http.Header{}
	}
	return r.hd
}

func (r *recorder) Write(p []byte) (int, error) { return r.buf.Write(p) }

func (r *recorder) WriteHeader(int) {}
