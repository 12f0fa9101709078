package periodic

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestEveryCallsOnEachTickAndStopsWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var calls atomic.Int32
		done := make(chan struct{})
		go func() {
			Every(ctx, time.Second, func() { calls.Add(1) })
			close(done)
		}()

		synctest.Wait()
		if n := calls.Load(); n != 0 {
			t.Fatalf("calls before the first tick = %d, want 0", n)
		}
		time.Sleep(3*time.Second + time.Millisecond)
		synctest.Wait()
		if n := calls.Load(); n != 3 {
			t.Fatalf("calls after 3 ticks = %d, want 3", n)
		}

		cancel()
		<-done
		time.Sleep(5 * time.Second)
		if n := calls.Load(); n != 3 {
			t.Fatalf("calls after the context ended = %d, want 3", n)
		}
	})
}
