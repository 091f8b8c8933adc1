package handler

import (
	"compress/flate"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/seance-go/seance/phx"
)

// permessage-deflate (RFC 7692), negotiated per connection when
// Options.Compression.Enabled and the client offers it, and only without
// context takeover either way: a message is compressed (or inflated) on its
// own, so no connection holds a compressor or a decompressor while idle.
// The handler compresses the frames it writes itself, with pooled flate
// writers; gorilla inflates the client's compressed frames, and the handler
// bounds what they inflate to with Options.MaxFrameSize. A frame queued to
// many connections (a broadcast) is compressed once and its compressed form
// shared through phx.Frame.Shared.

// Compression configures permessage-deflate on WebSocket connections.
type Compression struct {
	// Enabled negotiates compression with the clients that offer it
	// (browsers do; Phoenix calls it `compress: true`). Off by default.
	Enabled bool
	// Threshold is the size in bytes from which an outbound message is
	// compressed (default 512); smaller ones are sent as they are.
	Threshold int
	// Level is the compress/flate level (default flate.BestSpeed; values
	// outside flate.HuffmanOnly…flate.BestCompression take the default).
	Level int
}

const defaultCompressThreshold = 512

// rsv1 marks a compressed message in the first byte of its frame header.
const rsv1 = 0x40

// deflateOffer reports whether the client's Sec-WebSocket-Extensions offer
// permessage-deflate in a form the handler accepts. It replies (through
// gorilla) "permessage-deflate; server_no_context_takeover;
// client_no_context_takeover", which is valid for an offer whose parameters
// are among server_no_context_takeover, client_no_context_takeover,
// client_max_window_bits (with or without a value: the reply leaves the
// client its window) and server_max_window_bits=15. A smaller
// server_max_window_bits cannot be honoured by compress/flate (its window
// is 32 KiB), so such an offer is declined.
func deflateOffer(h http.Header) bool {
	for _, field := range h.Values("Sec-WebSocket-Extensions") {
		for _, offer := range strings.Split(field, ",") {
			if acceptableOffer(offer) {
				return true
			}
		}
	}
	return false
}

func acceptableOffer(offer string) bool {
	params := strings.Split(offer, ";")
	if strings.TrimSpace(params[0]) != "permessage-deflate" {
		return false
	}
	seen := map[string]bool{}
	for _, p := range params[1:] {
		name, value, hasValue := strings.Cut(p, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if seen[name] {
			return false // RFC 7692 §7: a parameter appears once
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if hasValue {
				return false
			}
		case "client_max_window_bits":
			if hasValue && !windowBits(value) {
				return false
			}
		case "server_max_window_bits":
			if value != "15" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func windowBits(v string) bool {
	switch v {
	case "8", "9", "10", "11", "12", "13", "14", "15":
		return true
	}
	return false
}

// deflater compresses messages with pooled flate writers.
type deflater struct {
	level     int
	threshold int
	writers   sync.Pool // *flateWriter
	bufs      sync.Pool // *[]byte, compressed payloads of one connection's frames
}

// flateWriter is a flate.Writer appending to a byte slice.
type flateWriter struct {
	fw  *flate.Writer
	out []byte
}

func (w *flateWriter) Write(p []byte) (int, error) {
	w.out = append(w.out, p...)
	return len(p), nil
}

func newDeflater(c Compression) *deflater {
	if !c.Enabled {
		return nil
	}
	d := &deflater{level: c.Level, threshold: c.Threshold}
	if d.level == 0 || d.level < flate.HuffmanOnly || d.level > flate.BestCompression {
		d.level = flate.BestSpeed
	}
	if d.threshold <= 0 {
		d.threshold = defaultCompressThreshold
	}
	return d
}

// compress appends to dst the message data compressed as RFC 7692 §7.2.1
// says: deflated, flushed, without the flush's trailing 00 00 ff ff.
func (d *deflater) compress(dst, data []byte) []byte {
	w, _ := d.writers.Get().(*flateWriter)
	if w == nil {
		w = &flateWriter{}
		w.fw, _ = flate.NewWriter(w, d.level) // the level is valid
	}
	w.out = dst
	w.fw.Reset(w)
	w.fw.Write(data) // writes to a slice do not fail
	w.fw.Flush()
	out := w.out
	w.out = nil
	d.writers.Put(w)
	return out[:len(out)-4]
}

// shared returns the compressed form of a frame queued to many sessions,
// compressing it at the first call. The compressed form is kept as long as
// the frame (by the broadcast, or the phx.Prepared message, it belongs to).
func (d *deflater) shared(f *phx.Frame) []byte {
	return f.Shared.Derive(func() any {
		buf := d.getBuf()
		*buf = d.compress(*buf, f.Data)
		z := slices.Clone(*buf) // kept with the frame: no spare capacity
		d.putBuf(buf)
		return z
	}).([]byte)
}

// getBuf lends a buffer for a connection's compressed payloads.
func (d *deflater) getBuf() *[]byte {
	if b, ok := d.bufs.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// maxKeptBuf is the largest compressed-payload buffer returned to the pool.
const maxKeptBuf = 256 << 10

func (d *deflater) putBuf(b *[]byte) {
	if cap(*b) > maxKeptBuf {
		return
	}
	*b = (*b)[:0]
	d.bufs.Put(b)
}

// readLimited reads a whole message of at most limit bytes: the read limit
// gorilla applies to the frames on the wire does not bound what a
// compressed message inflates to.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, websocket.ErrReadLimit
	}
	return data, nil
}
