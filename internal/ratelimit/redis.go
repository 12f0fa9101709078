package ratelimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is GCRA in one atomic step. It reads the clock of the Redis
// server, not of the caller, so replicas with skewed clocks still share one
// budget. The state expires when the budget is whole again, so idle keys
// cost Redis nothing.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
local ahead = nxt - now
if ahead > period then
  return {0, 0, ahead - period, tat - now}
end
redis.call('SET', KEYS[1], nxt, 'PX', math.ceil(ahead / 1000))
return {1, math.floor((period - ahead) / interval), 0, ahead}
`)

// Redis is a limiter whose budgets are shared by every replica using the
// same Redis and prefix.
type Redis struct {
	client redis.Scripter
	prefix string
}

// NewRedis returns a limiter storing its state under prefix.
func NewRedis(client redis.Scripter, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Allow takes one request from key's budget. Times travel in microseconds,
// which Lua's doubles hold exactly.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	res, err := gcraScript.Run(ctx, r.client, []string{r.prefix + key},
		interval(l).Microseconds(), l.Per.Microseconds()).Int64Slice()
	if err != nil {
		return Decision{}, err
	}
	return Decision{
		Allowed:    res[0] == 1,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		Reset:      time.Duration(res[3]) * time.Microsecond,
	}, nil
}
