package sessioncache

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBus carries invalidations over Redis pub/sub.
type RedisBus struct {
	client   *redis.Client
	channel  string
	received atomic.Int64
}

// NewRedisBus returns a bus on channel.
func NewRedisBus(client *redis.Client, channel string) *RedisBus {
	return &RedisBus{client: client, channel: channel}
}

// Publish sends m as "kind tenant id" (ids never contain spaces).
func (b *RedisBus) Publish(ctx context.Context, m Message) error {
	return b.client.Publish(ctx, b.channel, m.Kind+" "+m.TenantID+" "+m.ID).Err()
}

// Received counts the revocations applied from other replicas (and this
// one's own, which come back on the channel): each is counted after the
// cache forgot what it names.
func (b *RedisBus) Received() int64 { return b.received.Load() }

// Listen applies every message on the channel to s until ctx ends. When the
// subscription is (re)established, messages may have been missed, so the
// whole cache is dropped; while Redis is away, TTL bounds staleness.
func (b *RedisBus) Listen(ctx context.Context, s *Store, logger *slog.Logger) {
	sub := b.client.Subscribe(ctx, b.channel)
	defer sub.Close()
	down := false
	for {
		msg, err := sub.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.ForgetAll()
			if !down {
				down = true
				logger.Warn("session revocations: Redis subscription lost; sessions are re-read every second", slog.String("error", err.Error()))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(TTL):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			s.ForgetAll()
			if down {
				down = false
				logger.Info("session revocations: Redis subscription restored")
			}
		case *redis.Message:
			kind, rest, _ := strings.Cut(m.Payload, " ")
			tenant, id, _ := strings.Cut(rest, " ")
			s.Forget(Message{Kind: kind, TenantID: tenant, ID: id})
			b.received.Add(1)
		}
	}
}
