package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seance-go/seance/cluster"
)

// LeaserOptions configures a [Leaser]. Zero fields take the defaults.
type LeaserOptions struct {
	// Client is the Redis client (required); it may be the one of the
	// PubSub's Options and is never closed by the Leaser.
	Client goredis.UniversalClient
	// Namespace prefixes the keys (default "seance"): the lease of name is
	// "<namespace>:lease:{<name>}", its token counter the same key plus
	// ":token" (one hash slot, for Redis Cluster). The counter has no
	// expiry, so tokens are never reused while Redis keeps its data.
	Namespace string
	// TTL is how long a lease lasts without renewal (default 3s).
	TTL time.Duration
	// WatchInterval is how often Watch reads the lease (default TTL/10).
	WatchInterval time.Duration
}

// Leaser is a [cluster.Leaser] on Redis: a lease is a key set with SET NX
// semantics and a PX expiry, renewed and released by Lua scripts that
// compare its value first, and its fencing token comes from INCR on a
// counter per name.
type Leaser struct {
	opts LeaserOptions
}

var _ cluster.Leaser = (*Leaser)(nil)

// NewLeaser returns a Leaser for opts.
func NewLeaser(opts LeaserOptions) (*Leaser, error) {
	if opts.Client == nil {
		return nil, errors.New("redis: LeaserOptions.Client is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "seance"
	}
	if opts.TTL <= 0 {
		opts.TTL = 3 * time.Second
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = opts.TTL / 10
	}
	return &Leaser{opts: opts}, nil
}

// TTL implements cluster.Leaser.
func (l *Leaser) TTL() time.Duration { return l.opts.TTL }

func (l *Leaser) key(name string) string { return l.opts.Namespace + ":lease:{" + name + "}" }

// The value of a lease key is "<token> <holder>".
func leaseValue(token uint64, holder string) string {
	return strconv.FormatUint(token, 10) + " " + holder
}

func parseLease(name, v string) (cluster.Lease, error) {
	tok, holder, ok := strings.Cut(v, " ")
	t, err := strconv.ParseUint(tok, 10, 64)
	if !ok || err != nil || holder == "" {
		return cluster.Lease{}, fmt.Errorf("redis: malformed lease %q of %q", v, name)
	}
	return cluster.Lease{Name: name, Holder: holder, Token: t}, nil
}

// acquireScript: KEYS[1] the lease, KEYS[2] its token counter; ARGV[1] the
// holder, ARGV[2] the TTL in ms. Returns {1, value} when the caller holds
// the lease now, {0, value} when another holder does.
var acquireScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local sp = string.find(v, ' ', 1, true)
  if sp and string.sub(v, sp + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, v}
  end
  return {0, v}
end
local t = redis.call('INCR', KEYS[2])
v = t .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return {1, v}
`)

// renewScript and releaseScript act only while the key still holds ARGV[1].
var renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Acquire implements cluster.Leaser.
func (l *Leaser) Acquire(ctx context.Context, name, holder string) (cluster.Lease, error) {
	if holder == "" || strings.Contains(holder, " ") {
		return cluster.Lease{}, fmt.Errorf("redis: invalid lease holder %q", holder)
	}
	k := l.key(name)
	res, err := acquireScript.Run(ctx, l.opts.Client, []string{k, k + ":token"}, holder, l.opts.TTL.Milliseconds()).Slice()
	if err != nil {
		return cluster.Lease{}, err
	}
	if len(res) != 2 {
		return cluster.Lease{}, fmt.Errorf("redis: unexpected lease reply %v", res)
	}
	won, _ := res[0].(int64)
	v, _ := res[1].(string)
	lease, err := parseLease(name, v)
	if err != nil {
		return cluster.Lease{}, err
	}
	if won != 1 {
		return lease, cluster.ErrHeld
	}
	return lease, nil
}

// Renew implements cluster.Leaser.
func (l *Leaser) Renew(ctx context.Context, lease cluster.Lease) (cluster.Lease, error) {
	n, err := renewScript.Run(ctx, l.opts.Client, []string{l.key(lease.Name)}, leaseValue(lease.Token, lease.Holder), l.opts.TTL.Milliseconds()).Int64()
	if err != nil {
		return lease, err
	}
	if n != 1 {
		return lease, cluster.ErrLost
	}
	return lease, nil
}

// Release implements cluster.Leaser.
func (l *Leaser) Release(ctx context.Context, lease cluster.Lease) error {
	n, err := releaseScript.Run(ctx, l.opts.Client, []string{l.key(lease.Name)}, leaseValue(lease.Token, lease.Holder)).Int64()
	if err != nil {
		return err
	}
	if n != 1 {
		return cluster.ErrLost
	}
	return nil
}

// Get implements cluster.Leaser.
func (l *Leaser) Get(ctx context.Context, name string) (cluster.Lease, error) {
	v, err := l.opts.Client.Get(ctx, l.key(name)).Result()
	if errors.Is(err, goredis.Nil) {
		return cluster.Lease{Name: name}, nil
	}
	if err != nil {
		return cluster.Lease{}, err
	}
	return parseLease(name, v)
}

// Watch implements cluster.Leaser by reading the lease every
// WatchInterval.
func (l *Leaser) Watch(ctx context.Context, name string) (<-chan cluster.Lease, error) {
	return cluster.PollWatch(ctx, name, l.opts.WatchInterval, l.Get), nil
}
