package rampart

import "time"

// RateLimit is a request budget: N requests per Per, with bursts of up to
// N. The HTTP edge applies one per route class and key; package ratelimit
// implements it.
type RateLimit struct {
	N   int
	Per time.Duration
}

// RateDecision is the outcome of taking one request from a budget.
type RateDecision struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long to wait before the next request is allowed;
	// zero when Allowed.
	RetryAfter time.Duration
	// Reset is how long until the full budget is available again.
	Reset time.Duration
}
