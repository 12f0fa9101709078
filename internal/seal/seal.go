// Package seal encrypts small secrets at rest (signing keys, TOTP seeds)
// under the server's 32-byte master key with AES-256-GCM.
//
// A sealed value is
//
//	version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// The version byte lets the key or the format change later: a new version
// can be added while old values still open. The additional data names what
// the value is and whom it belongs to (e.g. "signing-key:"+kid or
// "totp:"+userID), so a sealed value copied into another row does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
)

// KeySize is the size of the master key: AES-256.
const KeySize = 32

// version1 is AES-256-GCM with a random 96-bit nonce under the master key.
const version1 = 1

// ErrOpen is the only error Open returns for a value that does not open. It
// does not say whether the key, the additional data or the value was wrong:
// the caller cannot act on the difference, and an attacker should not learn it.
var ErrOpen = errors.New("seal: cannot open the sealed value")

// Box seals and opens values under one master key. It is safe for concurrent
// use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, errors.New("seal: the master key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// Random nonces: with 96 bits, one key may seal 2^32 values before a
	// collision becomes a risk. Rampart seals a few values per user and per
	// signing key, far below that.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext and binds it to additionalData, which Open must be
// given again. The additional data is authenticated, not encrypted. The
// error is always nil today; it is there for a future version whose key
// lives in a KMS.
func (b *Box) Seal(plaintext, additionalData []byte) ([]byte, error) {
	out := make([]byte, 1, 1+b.aead.Overhead()+len(plaintext))
	out[0] = version1
	// The nonce is drawn from crypto/rand and prepended by the AEAD.
	return b.aead.Seal(out, nil, plaintext, authData(version1, additionalData)), nil
}

// Open decrypts a value made by Seal with the same key and additional data.
// Any failure, including a short or truncated value, returns ErrOpen.
func (b *Box) Open(sealed, additionalData []byte) ([]byte, error) {
	if len(sealed) < 1+b.aead.Overhead() || sealed[0] != version1 {
		return nil, ErrOpen
	}
	plaintext, err := b.aead.Open(nil, nil, sealed[1:], authData(version1, additionalData))
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// authData prefixes the caller's additional data with the version byte, so
// a value cannot be reinterpreted under another version's rules.
func authData(version byte, additionalData []byte) []byte {
	ad := make([]byte, 0, 1+len(additionalData))
	ad = append(ad, version)
	return append(ad, additionalData...)
}
