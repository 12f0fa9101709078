package argon2

import (
	"bytes"
	"fmt"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
)

// TestReusedMemoryMatchesUpstream runs hashes of different inputs and
// parameters back to back, so that most of them get a dirty buffer from the
// free list, and compares each with upstream x/crypto.
func TestReusedMemoryMatchesUpstream(t *testing.T) {
	for i := range 12 {
		pw := []byte(fmt.Sprintf("password-%d", i))
		salt := []byte(fmt.Sprintf("saltsaltsalt-%d", i%3))
		for _, c := range []struct {
			time, memory uint32
			threads      uint8
		}{{2, 64, 1}, {3, 64, 2}, {2, 19456, 1}, {1, 4096, 4}} {
			got := IDKey(pw, salt, c.time, c.memory, c.threads, 32)
			want := xargon2.IDKey(pw, salt, c.time, c.memory, c.threads, 32)
			if !bytes.Equal(got, want) {
				t.Fatalf("i=%d %+v: reused-memory hash differs from upstream", i, c)
			}
		}
	}
}
