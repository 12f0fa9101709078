package password

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestPolicyCheck(t *testing.T) {
	r := strings.Repeat
	min8 := Policy{MinLength: 8, MaxLength: 128}
	// Distinct characters: a single repeated one is rejected as common.
	const (
		emoji15 = "🦊🐻🐼🐨🐯🦁🐮🐷🐸🐵🐔🐧🐦🐤🦆"                                                                            // 15 code points, 60 bytes
		latin15 = "\u00c0\u00c1\u00c2\u00c3\u00c4\u00c5\u00c7\u00c8\u00c9\u00ca\u00cb\u00cc\u00cd\u00ce\u00cf" // ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏ, 2 bytes each
	)
	// long(n) is n code points of text with no repeating period.
	var counting strings.Builder
	for i := 1; counting.Len() < 400; i++ {
		fmt.Fprintf(&counting, "%d-", i)
	}
	long := func(n int) string { return counting.String()[:n] }
	latin15NFD := norm.NFD.String(latin15) // A+U+0300, A+U+0301, ...: 30 code points
	if utf8.RuneCountInString(latin15NFD) != 30 {
		t.Fatalf("NFD fixture has %d code points, want 30", utf8.RuneCountInString(latin15NFD))
	}
	tests := []struct {
		name     string
		policy   Policy
		password string
		context  []string
		want     string // reason code, "" when accepted
	}{
		// PWD-01: at least 15 code points.
		{"15 ascii", DefaultPolicy, "xkq7 zvbm wplrt", nil, ""},
		{"14 ascii", DefaultPolicy, "xkq7 zvbm wplr", nil, ReasonTooShort},
		{"15 emoji (60 bytes)", DefaultPolicy, emoji15, nil, ""},
		{"14 emoji (56 bytes)", DefaultPolicy, strings.TrimSuffix(emoji15, "🦆"), nil, ReasonTooShort},
		{"15 two-byte letters", DefaultPolicy, latin15, nil, ""},
		{"14 two-byte letters", DefaultPolicy, strings.TrimSuffix(latin15, "\u00cf"), nil, ReasonTooShort},
		// Counted after NFKC: a letter + combining accent is one code point.
		{"15 decomposed letters (30 raw, 15 after)", DefaultPolicy, latin15NFD, nil, ""},
		{"7 decomposed + 1 (15 raw, 8 after)", DefaultPolicy, norm.NFD.String(latin15[:14]) + "x", nil, ReasonTooShort},

		// PWD-02: 64 accepted, default max 128, cap 256 / 1 KiB.
		{"64", DefaultPolicy, long(64), nil, ""},
		{"128", DefaultPolicy, long(128), nil, ""},
		{"129", DefaultPolicy, long(129), nil, ReasonTooLong},
		{"256 with max 256", Policy{MaxLength: 256}, long(256), nil, ""},
		{"257 with max 256", Policy{MaxLength: 256}, long(257), nil, ReasonTooLong},
		{"257 with max 1000 (capped)", Policy{MaxLength: 1000}, long(257), nil, ReasonTooLong},
		{"over 1 KiB", Policy{MaxLength: 256}, r("🦊", 257), nil, ReasonTooLong},

		// PWD-03: no composition rules; spaces and Unicode welcome.
		{"lower case with spaces", DefaultPolicy, "correct horse battery staple xyz", nil, ""},
		{"leading and trailing space kept", DefaultPolicy, " xkq7 zvbm wplrt ", nil, ""},
		{"zero-width joiner emoji", DefaultPolicy, "👩\u200d💻 writes go code", nil, ""},

		// Control characters and invalid UTF-8.
		{"NUL", DefaultPolicy, "xkq7 zvbm wplrt\x00", nil, ReasonInvalidCharacter},
		{"tab", DefaultPolicy, "xkq7\tzvbm wplrt", nil, ReasonInvalidCharacter},
		{"newline", DefaultPolicy, "xkq7 zvbm wplrt\n", nil, ReasonInvalidCharacter},
		{"DEL", DefaultPolicy, "xkq7 zvbm wplrt\x7f", nil, ReasonInvalidCharacter},
		{"C1 NEL", DefaultPolicy, "xkq7 zvbm wplrt\u0085", nil, ReasonInvalidCharacter},
		{"invalid UTF-8", DefaultPolicy, "xkq7 zvbm wplrt\xff", nil, ReasonInvalidCharacter},

		// PWD-04 a: blocklist, case-insensitive. Entries of 15+ are rare in
		// the list; these are three of them.
		{"common 16", DefaultPolicy, "1qaz2wsx3edc4rfv", nil, ReasonCommon},
		{"common 16 upper", DefaultPolicy, "1QAZ2WSX3EDC4RFV", nil, ReasonCommon},
		{"common 20", DefaultPolicy, "q1w2e3r4t5y6u7i8o9p0", nil, ReasonCommon},
		{"common full-width (NFKC)", DefaultPolicy, "ｑｗｅｒｔｙ１２３４５６７８９", nil, ReasonCommon},
		{"common 8 at min 8", min8, "iloveyou", nil, ReasonCommon},
		{"common 8 mixed case", min8, "PassWord", nil, ReasonCommon},
		{"uncommon 8 at min 8", min8, "xkq7zvbm", nil, ""},
		{"repeated word", DefaultPolicy, "passwordpassword", nil, ReasonCommon},
		{"one character", DefaultPolicy, r("a", 15), nil, ReasonCommon},
		{"repeated emoji", DefaultPolicy, r("🦊🐻", 8), nil, ReasonCommon},
		{"digits wrapping", DefaultPolicy, "123456789012345", nil, ReasonCommon},
		{"digits descending", DefaultPolicy, "987654321098765", nil, ReasonCommon},
		{"alphabet", DefaultPolicy, "abcdefghijklmnop", nil, ReasonCommon},
		{"almost a sequence", DefaultPolicy, "123456789012346", nil, ""},

		// PWD-04 b: context words.
		{"product name", DefaultPolicy, "Rampart2026!!!!!!", []string{"rampart", "Acme Corp"}, ReasonContainsAccountInfo},
		{"tenant name", DefaultPolicy, "i work at acme corp okay", []string{"rampart", "Acme Corp"}, ReasonContainsAccountInfo},
		{"whole email", DefaultPolicy, "alice.smith@example.com", []string{"alice.smith@example.com"}, ReasonContainsAccountInfo},
		{"email local part", DefaultPolicy, "ALICE.SMITH loves pizza", []string{"alice.smith@example.com"}, ReasonContainsAccountInfo},
		{"short context word ignored", DefaultPolicy, "xkq7 zvbm wplrt abc", []string{"abc"}, ""},
		{"unrelated context", DefaultPolicy, "xkq7 zvbm wplrt", []string{"rampart", "bob@example.com"}, ""},

		// MinLength floor: 8, whatever the configuration says.
		{"min 4 is raised to 8", Policy{MinLength: 4}, "xkq7zvb", nil, ReasonTooShort},
		{"8 at min 4", Policy{MinLength: 4}, "xkq7zvbm", nil, ""},
		{"zero policy is the default", Policy{}, "xkq7 zvbm wplr", nil, ReasonTooShort},
	}
	for _, tt := range tests {
		err := tt.policy.Check(tt.password, tt.context...)
		var pe *PolicyError
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Check = %v, want nil", tt.name, err)
		case tt.want != "" && !errors.As(err, &pe):
			t.Errorf("%s: Check = %v, want *PolicyError %s", tt.name, err, tt.want)
		case tt.want != "" && pe.Reason != tt.want:
			t.Errorf("%s: Reason = %s (%v), want %s", tt.name, pe.Reason, pe, tt.want)
		case pe != nil && strings.Contains(pe.Message, tt.password):
			t.Errorf("%s: message %q echoes the password", tt.name, pe.Message)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		p      Policy
		wantOK bool
	}{
		{DefaultPolicy, true},
		{Policy{}, true},
		{Policy{MinLength: 8}, true},
		{Policy{MinLength: 7}, false},
		{Policy{MinLength: -1}, false},
		{Policy{MaxLength: 256}, true},
		{Policy{MaxLength: 257}, false},
		{Policy{MaxLength: 63}, false},
		{Policy{MinLength: 100, MaxLength: 64}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.wantOK {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.p, err, tt.wantOK)
		}
	}
}
