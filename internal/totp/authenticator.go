package totp

import "time"

// Authenticator offers this package's functions as methods, for callers
// that take TOTP as an interface (the domain's rampart.TOTP).
type Authenticator struct{}

func (Authenticator) GenerateSecret() ([]byte, error)   { return GenerateSecret() }
func (Authenticator) EncodeSecret(secret []byte) string { return EncodeSecret(secret) }
func (Authenticator) KeyURI(secret []byte, issuer, account string) string {
	return KeyURI(secret, issuer, account)
}
func (Authenticator) Verify(secret []byte, code string, now time.Time, lastStep int64) (int64, bool) {
	return Verify(secret, code, now, lastStep)
}
func (Authenticator) GenerateRecoveryCodes(n int) ([]string, error) { return GenerateRecoveryCodes(n) }
func (Authenticator) HashRecoveryCode(code string) string           { return HashRecoveryCode(code) }
func (Authenticator) MatchRecoveryCode(code string, hashes []string) (int, bool) {
	return MatchRecoveryCode(code, hashes)
}
