package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswordsText is the common-password blocklist, one lowercase,
// NFKC-normalized password per line, most common first.
//
// Source: the "passwords" frequency list of zxcvbn 4.4.2 (npm package
// zxcvbn@4.4.2, lib/frequency_lists.js; 30,000 entries derived from Mark
// Burnett's 10M password corpus), Copyright (c) 2012-2016 Dan Wheeler and
// Dropbox, Inc., MIT licence. Only the 11,611 entries of at least 8 code
// points are kept: shorter ones can never pass Policy's length floor, so
// looking them up would be wasted memory. See COMMON_PASSWORDS_SOURCE.md for
// the licence text and how to regenerate the file.
//
//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords is built on first use. The keys are substrings of the
// embedded text, so building the set copies no password bytes: it takes
// about 0.3-0.5 ms and 430 KiB (see BenchmarkLoadCommonPasswords).
var commonPasswords = sync.OnceValue(loadCommonPasswords)

func loadCommonPasswords() map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(commonPasswordsText, "\n"))
	for line := range strings.Lines(commonPasswordsText) {
		if line = strings.TrimSuffix(line, "\n"); line != "" {
			set[line] = struct{}{}
		}
	}
	return set
}

// isCommon reports whether lower, a normalized and lowercased password, is
// on the blocklist.
func isCommon(lower string) bool {
	_, ok := commonPasswords()[lower]
	return ok
}
