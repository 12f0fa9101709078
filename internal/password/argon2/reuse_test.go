package argon2

import (
	"bytes"
	"fmt"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestReusedMemoryMatchesUpstream runs hashes of different inputs back to
// back for each set of parameters, with reuse on for that size, so that all
// but the first get the previous hash's dirty buffer, and compares each
// with upstream x/crypto.
func TestReusedMemoryMatchesUpstream(t *testing.T) {
	t.Cleanup(func() { reuse.Store(nil) })
	for _, c := range []struct {
		time, memory uint32
		threads      uint8
	}{{2, 64, 1}, {3, 64, 2}, {2, 19456, 1}, {1, 4096, 4}} {
		ReuseMemory(c.memory, 1)
		for i := range 4 {
			pw := []byte(fmt.Sprintf("password-%d", i))
			salt := []byte(fmt.Sprintf("saltsaltsalt-%d", i%3))
			got := IDKey(pw, salt, c.time, c.memory, c.threads, 32)
			want := xargon2.IDKey(pw, salt, c.time, c.memory, c.threads, 32)
			if !bytes.Equal(got, want) {
				t.Fatalf("i=%d %+v: reused-memory hash differs from upstream", i, c)
			}
			if i > 0 && len(reuse.Load().free) != 1 {
				t.Fatalf("%+v: the work memory was not kept for reuse", c)
			}
		}
	}
}

// A hash of another size than the one reused (a stored hash with old or odd
// parameters) leaves nothing behind.
func TestOtherSizesAreNotKept(t *testing.T) {
	t.Cleanup(func() { reuse.Store(nil) })
	ReuseMemory(64, 2)
	IDKey([]byte("pw"), []byte("saltsalt"), 1, 4096, 1, 32)
	if n := len(reuse.Load().free); n != 0 {
		t.Errorf("a 4096 KiB hash left %d buffers in the 64 KiB free list", n)
	}
	IDKey([]byte("pw"), []byte("saltsalt"), 1, 64, 1, 32)
	if n := len(reuse.Load().free); n != 1 {
		t.Errorf("a 64 KiB hash left %d buffers, want 1", n)
	}
}
