package testutil

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is the Redis server tests use when RAMPART_TEST_REDIS_URL
// is not set: the one on this machine and in CI.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Redis returns a client of the test Redis server and a key prefix of the
// test's own; every key under the prefix is deleted when t ends. Like
// PostgresURL it skips when the server does not answer, or fails when
// RAMPART_TEST_REQUIRE_SERVICES=1.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	serverURL := os.Getenv("RAMPART_TEST_REDIS_URL")
	if serverURL == "" {
		serverURL = DefaultRedisURL
	}
	opts, err := redis.ParseURL(serverURL)
	if err != nil {
		t.Fatalf("RAMPART_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		Unavailable(t, "Redis at %s does not answer (set RAMPART_TEST_REDIS_URL to use another): %v", opts.Addr, err)
	}
	prefix := "rampart-test:" + strings.ToLower(rand.Text()[:12]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("clean up Redis keys %s*: %v", prefix, err)
		}
		client.Close()
	})
	return client, prefix
}
