// Package password hashes, verifies and vets user passwords.
//
// Hashes are argon2id PHC strings (security baseline PWD-05); legacy bcrypt
// hashes verify and are flagged for rehash. A Hasher bounds how many hashes
// run at once, so a login flood cannot exhaust memory. Policy implements the
// length, character and blocklist rules of PWD-01 to PWD-04.
//
// Passwords are NFKC-normalized before they are counted, compared with the
// blocklist and hashed (PWD-02, NIST SP 800-63B-4 §3.1.1.2): the same
// password typed on two keyboards that produce different code point
// sequences (composed "é" vs "e"+U+0301, full-width letters) is the same
// password. Nothing else is changed: no trimming, case folding or
// truncation.
package password

import "golang.org/x/text/unicode/norm"

// MaxPasswordBytes is the hard cap on a password's length in bytes, before
// normalization (PWD-02: 256 code points / 1 KiB against hashing DoS).
// Hash, Verify and Policy.Check all refuse longer input.
const MaxPasswordBytes = 1024

// normalize is the one place where password text is normalized, so that
// Check, Hash and Verify cannot disagree.
func normalize(password string) string {
	return norm.NFKC.String(password)
}
