package rampart

import "time"

// SigningKey is a key pair that signs access tokens. Keys belong to the
// server, not to a tenant. A key signs from ActivatedAt until RetiredAt; after
// that it is still published so that tokens it signed verify until they
// expire, and then it is deleted.
type SigningKey struct {
	ID          string // the JWS "kid"
	Algorithm   string // the JWS "alg", e.g. "EdDSA"
	PublicKey   []byte
	PrivateKey  []byte // encrypted before it reaches the store
	CreatedAt   time.Time
	ActivatedAt time.Time
	RetiredAt   time.Time // zero while the key signs
}
