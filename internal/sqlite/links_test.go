package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"example.com/rampart/internal/storetest"
)

// TestLinkTokenCanary: no link token, in any form, is anywhere in the
// database files (the main file and the write-ahead log, where recent
// writes are) after links are issued, redeemed and revoked.
func TestLinkTokenCanary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rampart.db")
	s := OpenTestStore(t, path)
	storetest.LinkTokenCanary(t, s, func() []byte {
		var all []byte
		for _, name := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(name)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	})
}
