package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits of the password policy, in Unicode code points after NFKC
// normalization.
const (
	// MinLengthFloor is the lowest MinLength a Policy will enforce (NIST SP
	// 800-63B-4 §3.1.1.2: 8 only when the password is not the only factor).
	MinLengthFloor = 8
	// MaxLengthCap is the highest MaxLength a Policy will allow (PWD-02).
	MaxLengthCap = 256
	// maxLengthFloor: verifiers should permit at least 64 (PWD-02).
	maxLengthFloor = 64
	// minContextWord: shorter context words are too likely to occur by
	// chance inside a good passphrase to be worth rejecting.
	minContextWord = 4
)

// Policy is the password acceptance policy applied at signup, password
// change and reset. It has no composition rules (PWD-03).
type Policy struct {
	MinLength int // 0 means 15; values below MinLengthFloor are raised to it
	MaxLength int // 0 means 128; clamped to [64, MaxLengthCap]
}

// DefaultPolicy is 15..128 code points (PWD-01: 15 for a single-factor
// password; api.md: 128).
var DefaultPolicy = Policy{MinLength: 15, MaxLength: 128}

// Reason codes of a PolicyError, stable for API clients.
const (
	ReasonTooShort            = "too_short"
	ReasonTooLong             = "too_long"
	ReasonInvalidCharacter    = "invalid_character"
	ReasonCommon              = "common"
	ReasonContainsAccountInfo = "contains_account_info"
)

// PolicyError is a rejected password. Both fields are safe to show to the
// client; neither contains the password.
type PolicyError struct {
	Reason  string // one of the Reason constants
	Message string // human-readable, in English
}

func (e *PolicyError) Error() string { return e.Message }

// Validate reports whether p is a configuration the server should start
// with (CFG-01). Check tolerates bad values by clamping; Validate refuses
// them so that a typo does not silently weaken the policy.
func (p Policy) Validate() error {
	q := p.withDefaults()
	switch {
	case q.MinLength < MinLengthFloor:
		return fmt.Errorf("password: minimum length %d is below %d", q.MinLength, MinLengthFloor)
	case q.MaxLength < maxLengthFloor || q.MaxLength > MaxLengthCap:
		return fmt.Errorf("password: maximum length %d out of range [%d, %d]", q.MaxLength, maxLengthFloor, MaxLengthCap)
	case q.MinLength > q.MaxLength:
		return fmt.Errorf("password: minimum length %d above maximum %d", q.MinLength, q.MaxLength)
	}
	return nil
}

func (p Policy) withDefaults() Policy {
	if p.MinLength == 0 {
		p.MinLength = DefaultPolicy.MinLength
	}
	if p.MaxLength == 0 {
		p.MaxLength = DefaultPolicy.MaxLength
	}
	return p
}

// effective is p with defaults applied and every limit forced into range.
func (p Policy) effective() Policy {
	p = p.withDefaults()
	p.MinLength = max(p.MinLength, MinLengthFloor)
	p.MaxLength = min(max(p.MaxLength, maxLengthFloor), MaxLengthCap)
	p.MinLength = min(p.MinLength, p.MaxLength)
	return p
}

// Lengths returns the shortest and longest password Check accepts, in code
// points after NFKC normalization: the limits the API publishes.
func (p Policy) Lengths() (minLength, maxLength int) {
	q := p.effective()
	return q.MinLength, q.MaxLength
}

// Check returns nil if password is acceptable, or a *PolicyError.
//
// Length is counted in code points after NFKC normalization, which is what
// Hash stores. Control characters (Unicode category Cc: C0, DEL, C1, which
// includes tab and newline) and invalid UTF-8 are refused: they cannot be
// typed reliably on every device, so they are far more likely to come from
// a paste accident than from intent, and they are a hazard in any
// downstream tool. Everything else is accepted, spaces and emoji included.
//
// The password is refused as common when, compared case-insensitively, it
// is on the embedded blocklist, is one shorter string repeated
// ("passwordpassword"), or is a run of consecutive digits or letters
// ("123456789012345", "abcdefghijklmnop"). The blocklist alone catches very
// few passwords of 15 or more characters.
//
// context holds account-specific words (product name, tenant name, the
// user's email; PWD-04 b). A password containing any of them of at least 4
// code points, case-insensitively, is refused. For a context word with an
// '@', its local part is checked as well.
func (p Policy) Check(password string, context ...string) error {
	p = p.effective()
	if len(password) > MaxPasswordBytes {
		return &PolicyError{ReasonTooLong, fmt.Sprintf("password must be at most %d bytes", MaxPasswordBytes)}
	}
	if !utf8.ValidString(password) {
		return &PolicyError{ReasonInvalidCharacter, "password must be valid UTF-8"}
	}
	if strings.ContainsFunc(password, unicode.IsControl) {
		return &PolicyError{ReasonInvalidCharacter, "password must not contain control characters"}
	}
	norm := normalize(password)
	n := utf8.RuneCountInString(norm)
	if n < p.MinLength {
		return &PolicyError{ReasonTooShort, fmt.Sprintf("password must be at least %d characters", p.MinLength)}
	}
	if n > p.MaxLength {
		return &PolicyError{ReasonTooLong, fmt.Sprintf("password must be at most %d characters", p.MaxLength)}
	}
	lower := strings.ToLower(norm)
	if isCommon(lower) || isRepeated(lower) || isSequential(lower) {
		return &PolicyError{ReasonCommon, "password is too common or easy to guess"}
	}
	for _, w := range context {
		words := []string{w}
		if local, _, ok := strings.Cut(w, "@"); ok {
			words = append(words, local)
		}
		for _, w := range words {
			w = strings.ToLower(normalize(w))
			if utf8.RuneCountInString(w) >= minContextWord && strings.Contains(lower, w) {
				return &PolicyError{ReasonContainsAccountInfo, "password must not contain your email address or account names"}
			}
		}
	}
	return nil
}

// isRepeated reports whether s is a shorter string repeated two or more
// times: "passwordpassword", "aaaaaaaaaaaaaaa", "abcabcabcabcabc".
func isRepeated(s string) bool {
	r := []rune(s)
	for period := 1; period <= len(r)/2; period++ {
		if len(r)%period != 0 {
			continue
		}
		same := true
		for i := period; i < len(r) && same; i++ {
			same = r[i] == r[i-period]
		}
		if same {
			return true
		}
	}
	return false
}

// isSequential reports whether s is an ascending or descending run of
// ASCII digits (wrapping 9→0 and 0→9: "123456789012345") or of ASCII
// lowercase letters ("abcdefghijklmno").
func isSequential(s string) bool {
	if len(s) < 2 {
		return false
	}
	for _, step := range []int{1, -1} {
		run := true
		for i := 1; i < len(s) && run; i++ {
			run = follows(s[i-1], s[i], step)
		}
		if run {
			return true
		}
	}
	return false
}

func follows(a, b byte, step int) bool {
	switch {
	case isDigit(a) && isDigit(b):
		return (int(a-'0')+step+10)%10 == int(b-'0')
	case 'a' <= a && a <= 'z' && 'a' <= b && b <= 'z':
		return int(a)+step == int(b)
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
