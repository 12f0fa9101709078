package password

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCommonPasswordsFile checks the invariants the lookup relies on.
func TestCommonPasswordsFile(t *testing.T) {
	if !strings.HasSuffix(commonPasswordsText, "\n") {
		t.Error("file does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswordsText, "\n"), "\n")
	if len(lines) < 10000 {
		t.Errorf("%d entries, want at least 10,000", len(lines))
	}
	seen := make(map[string]bool, len(lines))
	long := 0
	for i, l := range lines {
		switch {
		case seen[l]:
			t.Errorf("line %d: duplicate %q", i+1, l)
		case l != strings.ToLower(normalize(l)):
			t.Errorf("line %d: %q is not lowercase NFKC", i+1, l)
		case utf8.RuneCountInString(l) < MinLengthFloor:
			t.Errorf("line %d: %q is shorter than %d", i+1, l, MinLengthFloor)
		case strings.ContainsFunc(l, func(r rune) bool { return r < ' ' || r == 0x7f }):
			t.Errorf("line %d: control character", i+1)
		}
		seen[l] = true
		if utf8.RuneCountInString(l) >= 15 {
			long++
		}
	}
	if got := len(commonPasswords()); got != len(lines) {
		t.Errorf("set has %d entries, file %d lines", got, len(lines))
	}
	t.Logf("%d entries, %d of them 15+ code points", len(lines), long)
}
