package nats

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/seance-go/seance/history"
)

// HistoryOptions configures a [History]. Zero fields take the defaults.
type HistoryOptions struct {
	// Conn is the NATS connection (required); the server must run
	// JetStream. The History never closes it.
	Conn *natsgo.Conn
	// Stream is the JetStream stream of the histories (default
	// "SEANCE_HISTORY"), created when missing and updated to these
	// options: every node must use the same options for one stream.
	Stream string
	// Subject prefixes the subjects (default "seance.history"): topic T's
	// messages are on "<Subject>.<base64url(T)>".
	Subject string
	// MaxEntries is how many messages each topic keeps (default 1,000;
	// the stream's MaxMsgsPerSubject).
	MaxEntries int
	// MaxAge is how long a message can be recovered (default 5 minutes;
	// older messages are skipped when reading).
	MaxAge time.Duration
	// MetaTTL is how long a topic's messages stay in the stream (default
	// 24h; the stream's MaxAge): its last message carries the topic's
	// epoch and offset, so past MetaTTL without a message the topic starts
	// a new epoch.
	MetaTTL time.Duration
}

// History is a [history.Store] in a NATS JetStream stream, shared by every
// node that uses the same stream: a message broadcast on one node is
// recovered by a client that reconnects to any other.
//
// Each topic is a subject of the stream, each message carries its epoch
// and offset in headers, and an append publishes with the topic's last
// stream sequence expected (optimistic concurrency, retried on conflict),
// so offsets follow each other without gaps whichever node appends. A
// topic's epoch is the stream's creation time and the stream sequence its
// first message was appended after: a stream deleted and created again, or
// a topic silent for MetaTTL (its messages gone), starts a new epoch at
// offset 1. A topic without messages is at offset 0 of the stream's "empty"
// epoch, from which a client recovers the topic's first messages.
type History struct {
	opts HistoryOptions
	js   jetstream.JetStream

	mu     sync.Mutex
	stream jetstream.Stream
}

var _ history.Store = (*History)(nil)

// Message headers.
const (
	hdrEpoch  = "Seance-Epoch"
	hdrOffset = "Seance-Offset"
	hdrEvent  = "Seance-Event"
)

// NewHistory returns a History for opts, creating or updating its stream.
func NewHistory(ctx context.Context, opts HistoryOptions) (*History, error) {
	if opts.Conn == nil {
		return nil, errors.New("nats: HistoryOptions.Conn is required")
	}
	if opts.Stream == "" {
		opts.Stream = "SEANCE_HISTORY"
	}
	if opts.Subject == "" {
		opts.Subject = "seance.history"
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = history.DefaultMaxEntries
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = history.DefaultMaxAge
	}
	if opts.MetaTTL <= 0 {
		opts.MetaTTL = history.DefaultMetaTTL
	}
	if opts.MetaTTL < opts.MaxAge {
		opts.MetaTTL = opts.MaxAge
	}
	js, err := jetstream.New(opts.Conn)
	if err != nil {
		return nil, err
	}
	h := &History{opts: opts, js: js}
	if _, err := h.ensure(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// ensure creates (or updates) the stream and returns it.
func (h *History) ensure(ctx context.Context) (jetstream.Stream, error) {
	s, err := h.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              h.opts.Stream,
		Subjects:          []string{h.opts.Subject + ".>"},
		MaxMsgsPerSubject: int64(h.opts.MaxEntries),
		MaxAge:            h.opts.MetaTTL,
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: history stream %s: %w", h.opts.Stream, err)
	}
	h.mu.Lock()
	h.stream = s
	h.mu.Unlock()
	return s, nil
}

func (h *History) current() jetstream.Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stream
}

// lost reports whether err says the stream is gone.
func lost(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// withStream runs f with the stream, creating it again once when it is
// gone (deleted: a new epoch).
func (h *History) withStream(ctx context.Context, f func(jetstream.Stream) error) error {
	err := f(h.current())
	if !lost(err) {
		return err
	}
	s, err := h.ensure(ctx)
	if err != nil {
		return err
	}
	return f(s)
}

func (h *History) subject(topic string) string {
	return h.opts.Subject + "." + base64.RawURLEncoding.EncodeToString([]byte(topic))
}

// emptyEpoch is the epoch of the topics without messages in the stream.
func emptyEpoch(info *jetstream.StreamInfo) string {
	return strconv.FormatInt(info.Created.UnixNano(), 36) + ".0"
}

// newEpoch is the epoch of a topic whose first message (since the stream
// was created, or since its messages expired) comes after stream sequence
// last.
func newEpoch(info *jetstream.StreamInfo, last uint64) string {
	return strconv.FormatInt(info.Created.UnixNano(), 36) + "." + strconv.FormatUint(last+1, 36)
}

// top returns the topic's current position and its last message (nil
// when it has none).
func (h *History) top(ctx context.Context, s jetstream.Stream, subj string) (history.Position, *jetstream.RawStreamMsg, *jetstream.StreamInfo, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return history.Position{}, nil, nil, err
	}
	last, err := s.GetLastMsgForSubject(ctx, subj)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return history.Position{Epoch: emptyEpoch(info)}, nil, info, nil
	case err != nil:
		return history.Position{}, nil, nil, err
	}
	off, err := strconv.ParseUint(last.Header.Get(hdrOffset), 10, 64)
	if err != nil {
		return history.Position{}, nil, nil, fmt.Errorf("nats: history message %d has no offset", last.Sequence)
	}
	return history.Position{Epoch: last.Header.Get(hdrEpoch), Offset: off}, last, info, nil
}

// Append implements [history.Store]: a read of the topic's last message
// and a publish expecting it (plus a stream info for a topic's first
// message), retried on a concurrent append.
func (h *History) Append(ctx context.Context, topic, event string, payload []byte) (history.Position, error) {
	subj := h.subject(topic)
	for {
		var pos history.Position
		err := h.withStream(ctx, func(s jetstream.Stream) error {
			var expect uint64
			last, err := s.GetLastMsgForSubject(ctx, subj)
			switch {
			case err == nil:
				off, perr := strconv.ParseUint(last.Header.Get(hdrOffset), 10, 64)
				if perr != nil {
					return fmt.Errorf("nats: history message %d has no offset", last.Sequence)
				}
				pos = history.Position{Epoch: last.Header.Get(hdrEpoch), Offset: off + 1}
				expect = last.Sequence
			case errors.Is(err, jetstream.ErrMsgNotFound):
				info, err := s.Info(ctx)
				if err != nil {
					return err
				}
				pos = history.Position{Epoch: newEpoch(info, info.State.LastSeq), Offset: 1}
			default:
				return err
			}
			m := natsgo.NewMsg(subj)
			m.Data = payload
			m.Header.Set(hdrEpoch, pos.Epoch)
			m.Header.Set(hdrOffset, strconv.FormatUint(pos.Offset, 10))
			m.Header.Set(hdrEvent, event)
			_, err = h.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(expect), jetstream.WithRetryAttempts(1))
			return err
		})
		if err == nil {
			return pos, nil
		}
		if !conflict(err) {
			return history.Position{}, fmt.Errorf("nats: history append: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return history.Position{}, err
		}
	}
}

// conflict reports whether a publish failed because another append came
// first.
func conflict(err error) bool {
	var je jetstream.JetStreamError
	if errors.As(err, &je) && je.APIError() != nil {
		c := je.APIError().ErrorCode
		return c == jetstream.JSErrCodeStreamWrongLastSequence || c == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}

// Since implements [history.Store]: a stream info, the topic's last and
// first messages, then the missed ones through a short-lived consumer
// (created, fetched in batches, deleted).
func (h *History) Since(ctx context.Context, topic string, pos history.Position) (history.Recovery, error) {
	subj := h.subject(topic)
	var rec history.Recovery
	err := h.withStream(ctx, func(s jetstream.Stream) error {
		rec = history.Recovery{}
		top, last, info, err := h.top(ctx, s, subj)
		if err != nil {
			return err
		}
		rec.Top = top
		if pos == top {
			rec.Covered = true
			return nil
		}
		if last == nil {
			return nil
		}
		if pos == (history.Position{Epoch: emptyEpoch(info)}) {
			// The client saw the topic without messages: it missed them
			// all, from offset 1 of the topic's epoch.
			pos = history.Position{Epoch: top.Epoch}
		}
		if pos.Epoch != top.Epoch || pos.Offset > top.Offset {
			return nil
		}
		first, err := s.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil // trimmed meanwhile
		}
		if err != nil {
			return err
		}
		firstOff, err := strconv.ParseUint(first.Header.Get(hdrOffset), 10, 64)
		if err != nil || pos.Offset+1 < firstOff {
			return nil
		}
		// Offset pos+1 is at least this many sequences after the first.
		entries, err := h.read(ctx, s, subj, first.Sequence+(pos.Offset+1-firstOff), pos.Offset+1, top)
		if err != nil || entries == nil {
			return err
		}
		rec.Entries = entries
		rec.Covered = true
		return nil
	})
	if err != nil {
		return history.Recovery{}, fmt.Errorf("nats: history read: %w", err)
	}
	return rec, nil
}

// read returns the messages want … top.Offset of subj, reading from stream
// sequence seq on, or nil when one is missing, too old or of another epoch
// (trimmed meanwhile).
func (h *History) read(ctx context.Context, s jetstream.Stream, subj string, seq, want uint64, top history.Position) ([]history.Entry, error) {
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject:     subj,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       seq,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute, // removed by the server if the delete below is lost
		MemoryStorage:     true,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	wait := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(dl), 10*time.Millisecond))
	}
	cutoff := time.Now().Add(-h.opts.MaxAge)
	entries := make([]history.Entry, 0, top.Offset-want+1)
	for want <= top.Offset {
		batch, err := cons.Fetch(int(min(top.Offset-want+1, 1000)), jetstream.FetchMaxWait(wait))
		if err != nil {
			return nil, err
		}
		n, bad := 0, false
		for m := range batch.Messages() {
			n++
			if bad || want > top.Offset {
				continue
			}
			off, err := strconv.ParseUint(m.Headers().Get(hdrOffset), 10, 64)
			if err != nil || off < want {
				continue
			}
			meta, err := m.Metadata()
			if off != want || err != nil || meta.Timestamp.Before(cutoff) || m.Headers().Get(hdrEpoch) != top.Epoch {
				bad = true // trimmed, aged out or of another epoch
				continue
			}
			entries = append(entries, history.Entry{Position: history.Position{Epoch: top.Epoch, Offset: off}, Event: m.Headers().Get(hdrEvent), Payload: m.Data()})
			want++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if bad || n == 0 {
			return nil, nil
		}
	}
	return entries, nil
}

// Current implements [history.Store]: a stream info and the topic's last
// message.
func (h *History) Current(ctx context.Context, topic string) (history.Position, error) {
	var pos history.Position
	err := h.withStream(ctx, func(s jetstream.Stream) error {
		var err error
		pos, _, _, err = h.top(ctx, s, h.subject(topic))
		return err
	})
	if err != nil {
		return history.Position{}, fmt.Errorf("nats: history read: %w", err)
	}
	return pos, nil
}
