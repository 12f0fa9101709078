package rampart

import "time"

// Session is one refresh-token family: a sign-in and every refresh token
// rotated from it. Only hashes of refresh tokens are stored. Besides the two
// below, the store keeps the hash of every earlier token of the family, so
// that the reuse of any of them is recognised (see
// Store.FindSessionByTokenHash).
type Session struct {
	ID       string
	TenantID string
	UserID   string
	// TokenHash is the SHA-256 hash of the current refresh token.
	TokenHash []byte
	// PreviousTokenHash is the hash of the token that TokenHash replaced, and
	// RotatedAt is when. Together they let a refresh that raced a rotation
	// succeed within a short grace window, while a later reuse of the old
	// token is recognised as theft. Both are zero before the first rotation.
	PreviousTokenHash []byte
	RotatedAt         time.Time
	CreatedAt         time.Time
	LastUsedAt        time.Time
	IdleExpiresAt     time.Time // the session ends if not used before this
	ExpiresAt         time.Time // the session ends at this time, used or not
	RevokedAt         time.Time // zero while not revoked
	RevokedReason     string
}

// EndsAt is when the session ends if it is not used again (and not
// revoked): the earlier of its idle and absolute deadlines.
func (s *Session) EndsAt() time.Time {
	if s.IdleExpiresAt.Before(s.ExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.ExpiresAt
}
