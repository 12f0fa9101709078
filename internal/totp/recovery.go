package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	// RecoveryCodeCount is how many codes a user gets (MFA-05).
	RecoveryCodeCount = 10

	// recoveryChars is the length of a code without dashes. At 5 bits per
	// character, 25 characters are 125 bits. That is above the 112 bits from
	// which NIST SP 800-63B-4 §3.1.2 lets a look-up secret be stored with a
	// plain approved hash instead of a salted password hash, which is what
	// makes SHA-256 in HashRecoveryCode sound (see there). Shorter codes
	// (the 10 characters / 50 bits MFA-05 gives as its minimum) would need
	// argon2id storage instead.
	recoveryChars = 25
	// recoveryGroup is the group size between dashes, for reading aloud and
	// typing: "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX".
	recoveryGroup = 5
	// maxRecoveryInput bounds what MatchRecoveryCode will normalize: a real
	// code with generous spacing is well under this.
	maxRecoveryInput = 64
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a code
// written on paper cannot be misread as another code.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// GenerateRecoveryCodes returns n codes from crypto/rand, each 125 bits,
// formatted as five dash-separated groups of five Crockford base32
// characters. The caller shows them once and stores only HashRecoveryCode
// of each; generating a new set must replace the old one (MFA-05).
func GenerateRecoveryCodes(n int) (codes []string, err error) {
	if n < 1 {
		return nil, errors.New("totp: recovery code count must be positive")
	}
	buf := make([]byte, recoveryChars)
	codes = make([]string, n)
	for i := range codes {
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("totp: generate recovery code: %w", err)
		}
		var b strings.Builder
		for j, c := range buf {
			if j > 0 && j%recoveryGroup == 0 {
				b.WriteByte('-')
			}
			// 256 is a multiple of 32, so the low 5 bits of a uniform byte
			// are a uniform index: no modulo bias.
			b.WriteByte(crockford[c&31])
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// HashRecoveryCode is the stored form of a recovery code: SHA-256 (hex) of
// the normalized code.
//
// A fast, unsalted hash is enough here, unlike for passwords, because the
// codes are uniformly random 125-bit values: an offline search of 2^125
// candidates is infeasible at any hash speed, so neither a work factor nor a
// salt would add anything (NIST SP 800-63B-4 §3.1.2 allows this from 112
// bits). It also lets MatchRecoveryCode hash the input once, instead of
// running a slow hash per stored code on every attempt.
func HashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(normalizeRecoveryCode(code)))
	return hex.EncodeToString(sum[:])
}

// MatchRecoveryCode reports which of hashes (from HashRecoveryCode) the
// code matches. It compares against every hash in constant time and never
// stops early, so timing does not reveal the position of a match. A code is
// single-use: on success the caller deletes hashes[index] (atomically, so a
// concurrent request cannot use it too), logs the use and notifies the user
// (MFA-05).
//
// The code may be typed in any case, with or without dashes and spaces, and
// with O for 0 and I or L for 1, as Crockford base32 allows. Input that
// cannot be a code is refused without hashing.
func MatchRecoveryCode(code string, hashes []string) (index int, ok bool) {
	if len(code) > maxRecoveryInput {
		return -1, false
	}
	norm := normalizeRecoveryCode(code)
	if !isRecoveryCode(norm) {
		return -1, false
	}
	want := []byte(HashRecoveryCode(norm)) // norm is a fixed point of the normalization

	index = -1
	for i, h := range hashes {
		eq := subtle.ConstantTimeCompare([]byte(h), want)
		index = subtle.ConstantTimeSelect(eq, i, index)
	}
	return index, index >= 0
}

// normalizeRecoveryCode drops dashes and spaces, upper-cases ASCII letters
// and maps Crockford's look-alikes (O to 0, I and L to 1). Other bytes are
// kept, so invalid input stays invalid.
func normalizeRecoveryCode(code string) string {
	var b strings.Builder
	b.Grow(len(code))
	for i := range len(code) {
		c := code[i]
		if c == '-' || c == ' ' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isRecoveryCode reports whether norm is a normalized code: recoveryChars
// characters of the Crockford alphabet.
func isRecoveryCode(norm string) bool {
	if len(norm) != recoveryChars {
		return false
	}
	for i := range len(norm) {
		if strings.IndexByte(crockford, norm[i]) < 0 {
			return false
		}
	}
	return true
}
