package signals

import (
	"container/list"
	"sort"
	"sync"
	"time"
)

// WindowStore keeps the sliding windows, the surge rules' interval counters
// and the alert cool-downs. The in-memory MemoryStore serves one process;
// RedisStore (behind FailoverStore) shares them between replicas so that
// they see one attack: Add is a sorted set per key, Claim a key with a
// deadline, Tally a counter per interval. The conformance table
// (TestWindowStoreConformance) holds both to one behaviour.
type WindowStore interface {
	// Add records member under key at time at, forgets what is older than
	// window, and returns how many entries the window holds. An empty member
	// is one occurrence (every Add counts); a non-empty one counts once
	// however often it is added (distinct members). A store may keep at most
	// limit entries per key (the newest), so the answer never exceeds limit:
	// callers pass their threshold, and memory per key stays bounded by it.
	Add(key, member string, at time.Time, window time.Duration, limit int) int
	// Claim takes key for ttl if nobody holds it at time at, and says whether
	// it did. The detector claims "rule|subject" before alerting, which is
	// what makes one alert per rule and subject per cool-down.
	Claim(key string, at time.Time, ttl time.Duration) bool
	// Tally adds one to the counter key, kept at least ttl after at, and
	// returns its new value with the values of the counters others (0 for
	// one never counted or forgotten). Keys are per interval (the interval
	// is in the key), so ttl only frees memory: callers never rely on a
	// counter expiring.
	Tally(key string, at time.Time, ttl time.Duration, others []string) (int, []int)
}

// MemoryStore is a WindowStore in this process's memory with a hard bound:
// at most maxKeys keys (windows and cool-downs together); adding one more
// evicts the key least recently touched. Entries per key are bounded by the
// caller's limit.
type MemoryStore struct {
	mu      sync.Mutex
	maxKeys int
	keys    map[string]*list.Element // of *memoryKey
	order   *list.List               // front: most recently touched
	evicted uint64
}

type memoryKey struct {
	key     string
	until   int64 // a claim or a counter: held until this unix-nanosecond time
	count   int   // a counter's value
	entries []entry
}

// entry is one occurrence (member "") or one distinct member, with the
// last time it was seen in unix nanoseconds (8 bytes, not a 24-byte
// time.Time: a million keys are the point).
type entry struct {
	member string
	at     int64
}

// NewMemoryStore returns a MemoryStore that tracks at most maxKeys keys.
func NewMemoryStore(maxKeys int) *MemoryStore {
	if maxKeys < 1 {
		maxKeys = 1
	}
	return &MemoryStore{maxKeys: maxKeys, keys: make(map[string]*list.Element), order: list.New()}
}

func (s *MemoryStore) Add(key, member string, at time.Time, window time.Duration, limit int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.touch(key)
	now, cutoff := at.UnixNano(), at.Add(-window).UnixNano()
	if limit < 1 {
		limit = 1
	}
	if member == "" {
		return k.addOccurrence(now, cutoff, limit)
	}
	kept := k.entries[:0]
	found := false
	for _, e := range k.entries {
		if e.at <= cutoff {
			continue
		}
		if member != "" && e.member == member {
			e.at, found = now, true
		}
		kept = append(kept, e)
	}
	if !found {
		kept = append(kept, entry{member: member, at: now})
	}
	if over := len(kept) - limit; over > 0 {
		// Drop the first added. Every entry kept is inside the window and
		// (for distinct counting) a different member, so the answer is
		// always a true count, capped at limit.
		kept = append(kept[:0], kept[over:]...)
	}
	if len(kept) < len(k.entries) {
		clear(k.entries[len(kept):]) // let dropped members be collected
	}
	k.entries = kept
	return len(kept)
}

// addOccurrence is Add for a key of occurrences, which are kept in time
// order: the expired ones and those over the limit are a prefix, cut off
// without a scan. A surge window holds up to 10,000 entries, and a flood
// adds to it at every event: this keeps each Add O(log n) (plus a copy
// now and then when the slice grows), where a scan would be O(n).
func (k *memoryKey) addOccurrence(now, cutoff int64, limit int) int {
	es := k.entries
	es = es[sort.Search(len(es), func(i int) bool { return es[i].at > cutoff }):]
	// Usually the newest: an event late from the queue goes in its place.
	i := sort.Search(len(es), func(i int) bool { return es[i].at > now })
	es = append(es, entry{})
	copy(es[i+1:], es[i:])
	es[i] = entry{at: now}
	if over := len(es) - limit; over > 0 {
		es = es[over:]
	}
	k.entries = es
	return len(es)
}

func (s *MemoryStore) Claim(key string, at time.Time, ttl time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.touch(key)
	if at.UnixNano() < k.until {
		return false
	}
	k.until = at.Add(ttl).UnixNano()
	return true
}

func (s *MemoryStore) Tally(key string, at time.Time, ttl time.Duration, others []string) (int, []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := at.UnixNano()
	k := s.touch(key)
	if now >= k.until {
		k.count = 0
	}
	k.count++
	k.until = max(k.until, at.Add(ttl).UnixNano())
	counts := make([]int, len(others))
	for i, o := range others {
		// A read neither creates a key nor makes it recently used.
		if el, ok := s.keys[o]; ok {
			if c := el.Value.(*memoryKey); now < c.until {
				counts[i] = c.count
			}
		}
	}
	return k.count, counts
}

// Len is the number of keys tracked now; Evicted how many were evicted to
// stay within the bound.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

func (s *MemoryStore) Evicted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}

// touch returns key's state, made most recently used, creating it (and
// evicting the least recently used key when full) if new.
func (s *MemoryStore) touch(key string) *memoryKey {
	if el, ok := s.keys[key]; ok {
		s.order.MoveToFront(el)
		return el.Value.(*memoryKey)
	}
	for len(s.keys) >= s.maxKeys {
		oldest := s.order.Back()
		s.order.Remove(oldest)
		delete(s.keys, oldest.Value.(*memoryKey).key)
		s.evicted++
	}
	k := &memoryKey{key: key}
	s.keys[key] = s.order.PushFront(k)
	return k
}
