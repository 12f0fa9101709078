package totp

import (
	"regexp"
	"strings"
	"testing"
)

func TestRecoveryCodeEntropy(t *testing.T) {
	// SHA-256 storage is only sound from 112 bits (see HashRecoveryCode).
	if bits := recoveryChars * 5; bits < 112 {
		t.Fatalf("recovery codes carry %d bits, need ≥ 112 for a fast hash", bits)
	}
	if len(crockford) != 32 {
		t.Fatalf("alphabet has %d symbols, want 32", len(crockford))
	}
}

func TestGenerateRecoveryCodes(t *testing.T) {
	codes, err := GenerateRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 {
		t.Fatalf("%d codes, want 10", len(codes))
	}
	format := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %q has the wrong format", c)
		}
		if seen[c] {
			t.Errorf("duplicate code %q", c)
		}
		seen[c] = true
	}
	if _, err := GenerateRecoveryCodes(0); err == nil {
		t.Error("n = 0 accepted")
	}
}

func TestMatchRecoveryCode(t *testing.T) {
	codes, err := GenerateRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = HashRecoveryCode(c)
	}

	for i, c := range codes {
		if idx, ok := MatchRecoveryCode(c, hashes); !ok || idx != i {
			t.Errorf("code %d: index %d ok %v", i, idx, ok)
		}
	}

	// The same code typed differently.
	c := codes[3]
	bare := strings.ReplaceAll(c, "-", "")
	for _, typed := range []string{
		strings.ToLower(c),
		bare,
		strings.ToLower(bare),
		strings.ReplaceAll(c, "-", " "),
		" " + c[:12] + " " + c[12:] + " ",
		strings.NewReplacer("0", "o", "1", "l").Replace(c), // Crockford look-alikes
		strings.NewReplacer("0", "O", "1", "I").Replace(c),
	} {
		if idx, ok := MatchRecoveryCode(typed, hashes); !ok || idx != 3 {
			t.Errorf("%q: index %d ok %v, want 3 true", typed, idx, ok)
		}
	}

	// Wrong, truncated, extended or oversized input does not match.
	flip := "0"
	if bare[0] == '0' {
		flip = "1"
	}
	for _, bad := range []string{
		"", flip + bare[1:], bare[:24], bare + "0", c + "\x00", c + "U",
		strings.Repeat(" ", 64) + c,
	} {
		if idx, ok := MatchRecoveryCode(bad, hashes); ok || idx != -1 {
			t.Errorf("%q matched index %d", bad, idx)
		}
	}

	// The caller removes a used code; it no longer matches, the rest do.
	used := 3
	hashes = append(hashes[:used:used], hashes[used+1:]...)
	if idx, ok := MatchRecoveryCode(codes[used], hashes); ok {
		t.Errorf("used code matched index %d", idx)
	}
	if idx, ok := MatchRecoveryCode(codes[used+1], hashes); !ok || idx != used {
		t.Errorf("next code: index %d ok %v, want %d true", idx, ok, used)
	}
	if _, ok := MatchRecoveryCode(codes[0], nil); ok {
		t.Error("matched against an empty list")
	}
}

func TestHashRecoveryCode(t *testing.T) {
	h := HashRecoveryCode("ABCDE-FGHJK-MNPQR-STVWX-YZ012")
	if len(h) != 64 || strings.ToLower(h) != h {
		t.Fatalf("hash %q is not 64 lowercase hex chars", h)
	}
	if HashRecoveryCode("abcde fghjk mnpqr stvwx yzo12") != h {
		t.Error("normalization differs between hash inputs")
	}
}
