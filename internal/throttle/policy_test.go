package throttle

import (
	"context"
	"fmt"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
)

// TestRedisDelaysMatchMemory: the Lua script in Redis computes the delays
// on its own; after every failure count from 1 to 20 it must set the same
// delay as Policy.delay (which Memory uses), including where the doubling
// reaches MaxDelay, exactly or by overshooting it.
func TestRedisDelaysMatchMemory(t *testing.T) {
	client, prefix := testutil.Redis(t)
	ctx := context.Background()
	policies := []Policy{
		DefaultPolicy, // 30 s doubling to exactly 1 h (30 s × 2^7 = 64 min is capped)
		{FreeFailures: 0, FirstDelay: 1500 * time.Millisecond, MaxDelay: 12 * time.Second}, // reaches MaxDelay exactly
		{FreeFailures: 2, FirstDelay: 3 * time.Second, MaxDelay: 100 * time.Second},        // overshoots MaxDelay (96 s → 192 s)
		{FreeFailures: 1, FirstDelay: 10 * time.Second, MaxDelay: 10 * time.Second},        // no doubling at all
		{FreeFailures: 3, FirstDelay: 700 * time.Millisecond, MaxDelay: 20 * time.Minute},  // a first delay in ms
	}
	for i, p := range policies {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			r := NewRedis(client, fmt.Sprintf("%sp%d:", prefix, i), p)
			failures, lock := r.keys("a@example.com")
			capped := false
			for n := 1; n <= 20; n++ {
				// The script's own answer, on a copy of the count, exactly ...
				got, err := failScript.Run(ctx, client, []string{failures + ":probe", lock + ":probe"},
					p.FreeFailures, p.FirstDelay.Milliseconds(), p.MaxDelay.Milliseconds()).Int64()
				if err != nil {
					t.Fatal(err)
				}
				want := p.delay(n)
				if time.Duration(got)*time.Millisecond != want.Truncate(time.Millisecond) {
					t.Errorf("failure %d: Redis delay %v, memory delay %v", n, time.Duration(got)*time.Millisecond, want)
				}
				capped = capped || want == p.MaxDelay

				// ... and the lock Fail actually sets, as Allow reports it.
				if err := r.Fail(ctx, "a@example.com"); err != nil {
					t.Fatal(err)
				}
				wait, err := r.Allow(ctx, "a@example.com", "")
				if err != nil {
					t.Fatal(err)
				}
				if n <= p.FreeFailures {
					if wait != 0 {
						t.Errorf("failure %d of %d free ones: wait %v", n, p.FreeFailures, wait)
					}
					continue
				}
				if wait > want || wait < want-time.Second {
					t.Errorf("failure %d: Redis lock %v, memory delay %v", n, wait, want)
				}
			}
			if !capped {
				t.Error("the policy never reached MaxDelay in 20 failures")
			}
		})
	}
}
