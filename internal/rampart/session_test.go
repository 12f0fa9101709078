package rampart

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCoarseAddress(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"203.0.113.77", "203.0.113.0/24"},
		{"::ffff:203.0.113.77", "203.0.113.0/24"}, // IPv4 seen through an IPv6 socket
		{"2001:db8:abcd:12::1", "2001:db8:abcd::/48"},
		{"fe80::1%eth0", "fe80::/48"},
		{"127.0.0.1", "127.0.0.0/24"},
		{"", ""},
		{"not an address", ""},
		{"203.0.113.77:443", ""},
	} {
		if got := CoarseAddress(tt.ip); got != tt.want {
			t.Errorf("CoarseAddress(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func TestShortUserAgent(t *testing.T) {
	ascii := strings.Repeat("a", 250)
	wide := strings.Repeat("日🦊", 150) // 300 characters, 1050 bytes
	for _, tt := range []struct{ name, in, want string }{
		{"short", "curl/8.5.0", "curl/8.5.0"},
		{"exactly 200", ascii[:200], ascii[:200]},
		{"250 ASCII", ascii, ascii[:200]},
		{"300 multibyte", wide, strings.Repeat("日🦊", 100)},
		{"invalid UTF-8", "Bad\xff\xfeAgent", "Bad\uFFFDAgent"},
		{"control characters", "Evil\x00\x1b[31mAgent\x7f", "Evil[31mAgent"},
	} {
		got := ShortUserAgent(tt.in)
		if got != tt.want {
			t.Errorf("%s: ShortUserAgent = %q, want %q", tt.name, got, tt.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxUserAgentRunes {
			t.Errorf("%s: %d characters, valid UTF-8 %v", tt.name, utf8.RuneCountInString(got), utf8.ValidString(got))
		}
	}
}
