package blocklist

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is the Store of one process: without Redis, each replica blocks
// on its own alerts only, and `rampart blocks` cannot see it.
type Memory struct {
	mu      sync.Mutex
	blocks  map[string]Block
	repeats map[string]repeat
}

type repeat struct {
	n    int
	last time.Time
}

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	return &Memory{blocks: map[string]Block{}, repeats: map[string]repeat{}}
}

// Place implements Store.
func (m *Memory) Place(_ context.Context, source, rule string, p Policy, now time.Time) (Block, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.blocks[source]; ok && b.Until.After(now) {
		return b, false, nil
	}
	m.pruneLocked(now, p)
	if len(m.blocks) >= MaxBlocks {
		return Block{}, false, ErrFull
	}
	r := m.repeats[source]
	if r.n > 0 && now.Sub(r.last) > p.Memory {
		r.n = 0
	}
	r.n++
	r.last = now
	m.repeats[source] = r
	b := Block{Source: source, Rule: rule, Repeat: r.n, Until: now.Add(p.Duration(r.n))}
	m.blocks[source] = b
	return b, true, nil
}

func (m *Memory) pruneLocked(now time.Time, p Policy) {
	for s, b := range m.blocks {
		if !b.Until.After(now) {
			delete(m.blocks, s)
		}
	}
	for s, r := range m.repeats {
		if now.Sub(r.last) > p.Memory {
			delete(m.repeats, s)
		}
	}
}

// List implements Store, soonest end first.
func (m *Memory) List(_ context.Context, now time.Time, limit int) ([]Block, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Block
	for _, b := range m.blocks {
		if b.Until.After(now) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Block) int { return a.Until.Compare(b.Until) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Remove implements Store.
func (m *Memory) Remove(_ context.Context, source string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.blocks[source]
	delete(m.blocks, source)
	delete(m.repeats, source)
	return ok, nil
}
