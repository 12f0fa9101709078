// Package periodic runs background chores on a ticker: key reloads, block
// list syncs, Redis reconnects. It exists so that the server and the block
// list share one loop instead of keeping a copy each.
package periodic

import (
	"context"
	"time"
)

// Every calls fn every d until ctx ends. The first call is d after the
// start, not at once: callers do their first round themselves when they
// need it before serving.
func Every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
