package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/history"
)

// HistoryOptions configures a [History]. Zero fields take the defaults.
type HistoryOptions struct {
	// Client is the Redis client (required); it may be the one of the
	// PubSub's Options and is never closed by the History. Create it with
	// ContextTimeoutEnabled so that a hung Redis fails a call when its
	// context ends (history.Options.RecoverTimeout, Broadcast's ctx)
	// rather than after the client's ReadTimeout.
	Client goredis.UniversalClient
	// Namespace prefixes the keys (default "seance"): topic T's stream is
	// "<namespace>:hist:{T}:s", its epoch and last offset the hash
	// "<namespace>:hist:{T}:m" (one hash slot, for Redis Cluster).
	Namespace string
	// MaxEntries is how many messages each topic keeps (default 1,000;
	// XADD MAXLEN).
	MaxEntries int
	// MaxAge is how long a message is kept (default 5 minutes; XTRIM
	// MINID on every append and read).
	MaxAge time.Duration
	// MetaTTL is how long a topic's keys live after its last message
	// (default 24h): past it the topic's next message starts a new epoch.
	MetaTTL time.Duration
}

// History is a [history.Store] in Redis Streams, shared by every node that
// uses the same Redis and Namespace: a message broadcast on one node is
// recovered by a client that reconnects to any other.
//
// Each topic has a stream (XADD with MAXLEN, trimmed by age with MINID)
// whose entries carry their offset, and a hash with the topic's epoch and
// last offset; a Lua script appends, reads and creates the epoch
// atomically, so offsets follow each other without gaps whichever node
// appends. When the hash is lost (deleted, or expired after MetaTTL) the
// next message starts a new epoch and the old positions are not recovered.
type History struct {
	opts HistoryOptions
}

var _ history.Store = (*History)(nil)

// NewHistory returns a History for opts.
func NewHistory(opts HistoryOptions) (*History, error) {
	if opts.Client == nil {
		return nil, errors.New("redis: HistoryOptions.Client is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "seance"
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
	return &History{opts: opts}, nil
}

func (h *History) keys(topic string) []string {
	base := h.opts.Namespace + ":hist:{" + topic + "}:"
	return []string{base + "s", base + "m"}
}

// metaInit creates the topic's epoch when its hash is missing (ARGV[1] is
// the new epoch, ARGV[2] the keys' TTL in ms), dropping a stream left from
// a lost epoch.
const metaInit = `
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
  redis.call('DEL', KEYS[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
local top = tonumber(redis.call('HGET', KEYS[2], 'o'))
local function trim(maxAgeMs)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('XTRIM', KEYS[1], 'MINID', now - maxAgeMs)
end
`

// appendScript: ARGV[3] MAXLEN, ARGV[4] max age in ms, ARGV[5] event,
// ARGV[6] payload. Returns {epoch, offset}.
var appendScript = goredis.NewScript(metaInit + `
top = redis.call('HINCRBY', KEYS[2], 'o', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', 'o', top, 'e', ARGV[5], 'p', ARGV[6])
trim(tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {epoch, top}
`)

// sinceScript: ARGV[3] the client's epoch, ARGV[4] its offset, ARGV[5]
// max age in ms. Returns {epoch, top, covered, offset1, event1, payload1,
// …}.
var sinceScript = goredis.NewScript(metaInit + `
local pos = tonumber(ARGV[4])
if ARGV[3] ~= epoch or pos > top then
  return {epoch, top, 0}
end
if pos == top then
  return {epoch, top, 1}
end
trim(tonumber(ARGV[5]))
local n = top - pos
local items = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', n)
if #items < n then
  return {epoch, top, 0}
end
local out = {epoch, top, 1}
for i = n, 1, -1 do
  local f = items[i][2]
  local off, ev, p
  for j = 1, #f, 2 do
    if f[j] == 'o' then off = f[j+1] elseif f[j] == 'e' then ev = f[j+1] elseif f[j] == 'p' then p = f[j+1] end
  end
  if tonumber(off) ~= pos + n - i + 1 then
    return {epoch, top, 0}
  end
  out[#out+1] = off
  out[#out+1] = ev
  out[#out+1] = p
end
return out
`)

// currentScript returns {epoch, top}.
var currentScript = goredis.NewScript(metaInit + `
return {epoch, top}
`)

func (h *History) ttlMs() int64 { return h.opts.MetaTTL.Milliseconds() }

// Append implements [history.Store]: one script call.
func (h *History) Append(ctx context.Context, topic, event string, payload []byte) (history.Position, error) {
	res, err := appendScript.Run(ctx, h.opts.Client, h.keys(topic),
		history.NewEpoch(), h.ttlMs(), h.opts.MaxEntries, h.opts.MaxAge.Milliseconds(), event, payload).Slice()
	if err != nil {
		return history.Position{}, fmt.Errorf("redis: history append: %w", err)
	}
	return position(res)
}

// Since implements [history.Store]: one script call.
func (h *History) Since(ctx context.Context, topic string, pos history.Position) (history.Recovery, error) {
	res, err := sinceScript.Run(ctx, h.opts.Client, h.keys(topic),
		history.NewEpoch(), h.ttlMs(), pos.Epoch, pos.Offset, h.opts.MaxAge.Milliseconds()).Slice()
	if err != nil {
		return history.Recovery{}, fmt.Errorf("redis: history read: %w", err)
	}
	if len(res) < 3 || (len(res)-3)%3 != 0 {
		return history.Recovery{}, fmt.Errorf("redis: history read: unexpected reply of %d items", len(res))
	}
	top, err := position(res[:2])
	if err != nil {
		return history.Recovery{}, err
	}
	rec := history.Recovery{Top: top, Covered: res[2] == int64(1)}
	if !rec.Covered {
		return rec, nil
	}
	rec.Entries = make([]history.Entry, 0, (len(res)-3)/3)
	for i := 3; i < len(res); i += 3 {
		off, _ := res[i].(string)
		ev, _ := res[i+1].(string)
		p, _ := res[i+2].(string)
		var o uint64
		if _, err := fmt.Sscan(off, &o); err != nil {
			return history.Recovery{}, fmt.Errorf("redis: history read: offset %q", off)
		}
		rec.Entries = append(rec.Entries, history.Entry{Position: history.Position{Epoch: top.Epoch, Offset: o}, Event: ev, Payload: []byte(p)})
	}
	return rec, nil
}

// Current implements [history.Store]: one script call.
func (h *History) Current(ctx context.Context, topic string) (history.Position, error) {
	res, err := currentScript.Run(ctx, h.opts.Client, h.keys(topic), history.NewEpoch(), h.ttlMs()).Slice()
	if err != nil {
		return history.Position{}, fmt.Errorf("redis: history read: %w", err)
	}
	return position(res)
}

func position(res []any) (history.Position, error) {
	if len(res) < 2 {
		return history.Position{}, fmt.Errorf("redis: history: unexpected reply %v", res)
	}
	epoch, ok1 := res[0].(string)
	off, ok2 := res[1].(int64)
	if !ok1 || !ok2 || off < 0 {
		return history.Position{}, fmt.Errorf("redis: history: unexpected reply %v", res)
	}
	return history.Position{Epoch: epoch, Offset: uint64(off)}, nil
}
