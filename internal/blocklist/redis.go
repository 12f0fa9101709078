package blocklist

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/rampart/internal/periodic"
	"github.com/redis/go-redis/v9"
)

// Redis is the Store shared by every replica. Under its prefix:
//
//	b:SOURCE  hash {rule, repeat}, expiring (PX) when the block ends
//	n:SOURCE  the source's repeat count, expiring Policy.Memory after its last block
//	index     sorted set of the sources blocked, scored by when each block ends
//	version   incremented by every placement and removal
//	changes   sorted set of the sources placed or removed, scored by the version
//	          of their last change; trimmed to the newest 2×MaxBlocks
//	trimmed   the highest version trimmed from changes
//
// and the channel "events" carries "+ SOURCE MS" (blocked for MS more
// milliseconds) and "- SOURCE" (lifted). Each change is one Lua script, so
// two replicas blocking one source at once place one block and count one
// repeat. Times are Redis's clock (TIME); what crosses to a replica is a
// remaining duration, so replicas' clocks need not agree.
//
// A replica learns of a block from the channel at once, and in any case
// within SyncEvery: every SyncEvery it asks for the changes since the
// version it last saw (one script; nothing but the version when nothing
// changed), which makes up for notices missed while its subscription was
// down. It reads the whole index only when it (re)subscribes or has fallen
// further behind than the changes kept.
type Redis struct {
	client    *redis.Client
	prefix    string
	syncEvery time.Duration
}

// DefaultSyncEvery is how often a replica checks the shared block list's
// version: the bound on how late it learns of a block whose notice it missed.
const DefaultSyncEvery = time.Second

// NewRedis returns the shared Store under prefix (e.g. "rampart:block:").
// syncEvery 0 means DefaultSyncEvery.
func NewRedis(client *redis.Client, prefix string, syncEvery time.Duration) *Redis {
	if syncEvery <= 0 {
		syncEvery = DefaultSyncEvery
	}
	return &Redis{client: client, prefix: prefix, syncEvery: syncEvery}
}

func (r *Redis) blockKey(source string) string  { return r.prefix + "b:" + source }
func (r *Redis) repeatKey(source string) string { return r.prefix + "n:" + source }
func (r *Redis) indexKey() string               { return r.prefix + "index" }
func (r *Redis) versionKey() string             { return r.prefix + "version" }
func (r *Redis) changesKey() string             { return r.prefix + "changes" }
func (r *Redis) trimmedKey() string             { return r.prefix + "trimmed" }
func (r *Redis) channel() string                { return r.prefix + "events" }

const nowLua = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// changeLua records a change of ARGV[1] in KEYS[4] (version), KEYS[5]
// (changes) and KEYS[6] (trimmed), keeping changes to the newest
// 2×MaxBlocks (ARGV[3] is MaxBlocks in both scripts that use it).
const changeLua = `
local v = redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[5], v, ARGV[1])
local extra = redis.call('ZCARD', KEYS[5]) - 2 * tonumber(ARGV[3])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[5], extra - 1, extra - 1, 'WITHSCORES')
  redis.call('SET', KEYS[6], old[2])
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, extra - 1)
end
`

// placeScript: KEYS block, repeat, index, version, changes, trimmed; ARGV
// source, rule, max blocks, base ms, factor, max ms, memory ms, channel.
// Returns {placed (1), in force (0) or full (-1), repeat, ms left, rule}.
var placeScript = redis.NewScript(nowLua + `
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  local f = redis.call('HMGET', KEYS[1], 'rule', 'repeat')
  return {0, tonumber(f[2]) or 0, ttl, f[1] or ''}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {-1, 0, 0, ''} end
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
local d = tonumber(ARGV[4])
local max = tonumber(ARGV[6])
for i = 2, n do
  if d >= max then break end
  d = d * tonumber(ARGV[5])
end
if d > max then d = max end
redis.call('HSET', KEYS[1], 'rule', ARGV[2], 'repeat', n)
redis.call('PEXPIRE', KEYS[1], d)
redis.call('ZADD', KEYS[3], now + d, ARGV[1])
` + changeLua + `
redis.call('PUBLISH', ARGV[8], '+ ' .. ARGV[1] .. ' ' .. d)
return {1, n, d, ARGV[2]}
`)

// listScript: KEYS index, version; ARGV limit. Returns the version, then
// source, ms left, ... for the blocks in force, soonest end first.
var listScript = redis.NewScript(nowLua + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local m = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = {tonumber(redis.call('GET', KEYS[2]) or '0')}
for i = 1, #m, 2 do
  out[#out + 1] = m[i]
  out[#out + 1] = tonumber(m[i + 1]) - now
end
return out
`)

// removeScript: KEYS block, repeat, index, version, changes, trimmed;
// ARGV source, channel, max blocks.
var removeScript = redis.NewScript(`
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
` + changeLua + `
redis.call('PUBLISH', ARGV[2], '- ' .. ARGV[1])
return existed
`)

// changesScript: KEYS version, changes, trimmed; ARGV since, the prefix of
// block keys. Returns {version} when nothing changed since; {version, -1}
// when the changes since are no longer all kept (or Redis lost its data):
// read the whole index; else {version, 0, source, ms left (<= 0: lifted), ...}.
var changesScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if v == since then return {v} end
local trimmed = tonumber(redis.call('GET', KEYS[3]) or '0')
if since > v or since < trimmed then return {v, -1} end
local m = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf')
local out = {v, 0}
for _, s in ipairs(m) do
  out[#out + 1] = s
  out[#out + 1] = redis.call('PTTL', ARGV[2] .. s)
end
return out
`)

// changeKeys are the KEYS of the scripts that change a source's block.
func (r *Redis) changeKeys(source string) []string {
	return []string{r.blockKey(source), r.repeatKey(source), r.indexKey(), r.versionKey(), r.changesKey(), r.trimmedKey()}
}

// Place implements Store.
func (r *Redis) Place(ctx context.Context, source, rule string, p Policy, now time.Time) (Block, bool, error) {
	res, err := placeScript.Run(ctx, r.client, r.changeKeys(source),
		source, rule, MaxBlocks, p.Base.Milliseconds(), p.Factor, p.Max.Milliseconds(), p.Memory.Milliseconds(), r.channel(),
	).Slice()
	if err != nil {
		return Block{}, false, fmt.Errorf("blocklist: place in Redis: %w", err)
	}
	if len(res) != 4 {
		return Block{}, false, errors.New("blocklist: unexpected answer from Redis")
	}
	status, _ := res[0].(int64)
	n, _ := res[1].(int64)
	left, _ := res[2].(int64)
	placedRule, _ := res[3].(string)
	if status < 0 {
		return Block{}, false, ErrFull
	}
	return Block{Source: source, Rule: placedRule, Repeat: int(n), Until: now.Add(time.Duration(left) * time.Millisecond)}, status == 1, nil
}

// List implements Store, soonest end first, with each block's rule and
// repeat count.
func (r *Redis) List(ctx context.Context, now time.Time, limit int) ([]Block, error) {
	_, blocks, err := r.inForce(ctx, now, limit)
	if err != nil || len(blocks) == 0 {
		return blocks, err
	}
	pipe := r.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(blocks))
	for i, b := range blocks {
		cmds[i] = pipe.HMGet(ctx, r.blockKey(b.Source), "rule", "repeat")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("blocklist: read blocks from Redis: %w", err)
	}
	for i, c := range cmds {
		v := c.Val()
		if len(v) == 2 {
			blocks[i].Rule, _ = v[0].(string)
			n, _ := v[1].(string)
			blocks[i].Repeat, _ = strconv.Atoi(n)
		}
	}
	return blocks, nil
}

// inForce is the index as of version: sources and when each block ends,
// nothing else.
func (r *Redis) inForce(ctx context.Context, now time.Time, limit int) (version int64, blocks []Block, err error) {
	res, err := listScript.Run(ctx, r.client, []string{r.indexKey(), r.versionKey()}, limit).Slice()
	if err != nil || len(res) == 0 {
		return 0, nil, fmt.Errorf("blocklist: list from Redis: %w", cmp.Or(err, errors.New("empty answer")))
	}
	version, _ = res[0].(int64)
	blocks = make([]Block, 0, len(res)/2)
	for i := 1; i+1 < len(res); i += 2 {
		source, _ := res[i].(string)
		left, _ := res[i+1].(int64)
		blocks = append(blocks, Block{Source: source, Until: now.Add(time.Duration(left) * time.Millisecond)})
	}
	return version, blocks, nil
}

// Remove implements Store.
func (r *Redis) Remove(ctx context.Context, source string) (bool, error) {
	n, err := removeScript.Run(ctx, r.client, r.changeKeys(source), source, r.channel(), MaxBlocks).Int64()
	if err != nil {
		return false, fmt.Errorf("blocklist: remove from Redis: %w", err)
	}
	return n > 0, nil
}

// follow keeps b's local copy current: each notice at once; every
// syncEvery, the changes since the version last seen; and the whole list
// when the subscription is (re)established or the changes kept do not
// reach back far enough.
func (r *Redis) follow(ctx context.Context, b *Blocker) {
	var mu sync.Mutex // resync runs on the poll's goroutine and on the subscription's
	var last int64
	full := true
	resync := func() {
		mu.Lock()
		defer mu.Unlock()
		callCtx, cancel := context.WithTimeout(ctx, b.timeout)
		defer cancel()
		if !full {
			res, err := changesScript.Run(callCtx, r.client, []string{r.versionKey(), r.changesKey(), r.trimmedKey()},
				last, r.prefix+"b:").Slice()
			if err != nil || len(res) == 0 {
				b.syncErr.Inc()
				return
			}
			v, _ := res[0].(int64)
			if len(res) == 1 {
				return
			}
			if mode, _ := res[1].(int64); mode == 0 {
				now := b.now()
				for i := 2; i+1 < len(res); i += 2 {
					source, _ := res[i].(string)
					left, _ := res[i+1].(int64)
					if p, err := ParseSource(source); err == nil {
						if left > 0 {
							b.remember(p, now.Add(time.Duration(left)*time.Millisecond))
						} else {
							b.forget(p)
						}
					}
				}
				last = v
				return
			}
		}
		v, blocks, err := r.inForce(callCtx, b.now(), MaxBlocks)
		if err != nil {
			b.syncErr.Inc()
			full = true
			return
		}
		b.replace(blocks)
		last, full = v, false
	}
	go periodic.Every(ctx, r.syncEvery, resync)
	sub := r.client.Subscribe(ctx, r.channel())
	defer sub.Close()
	for {
		msg, err := sub.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			select { // go-redis reconnects; the poll covers the gap
			case <-ctx.Done():
				return
			case <-time.After(r.syncEvery):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			// (Re)subscribed: notices may have been missed meanwhile.
			mu.Lock()
			full = true
			mu.Unlock()
			resync()
		case *redis.Message:
			op, rest, _ := strings.Cut(m.Payload, " ")
			source, ms, _ := strings.Cut(rest, " ")
			p, err := ParseSource(source)
			if err != nil {
				continue
			}
			switch op {
			case "+":
				if left, err := strconv.ParseInt(ms, 10, 64); err == nil {
					b.remember(p, b.now().Add(time.Duration(left)*time.Millisecond))
				}
			case "-":
				b.forget(p)
			}
		}
	}
}
