package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	key := make([]byte, KeySize)
	rand.Read(key)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t)
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		sealed, err := b.Seal(pt, []byte("totp:user-1"))
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 + 12 + len(pt) + 16; len(sealed) != want {
			t.Errorf("len(sealed) = %d, want %d", len(sealed), want)
		}
		// Only long plaintexts: a 1-byte one turns up in 29 random bytes
		// one time in nine.
		if len(pt) >= 8 && bytes.Contains(sealed, pt) {
			t.Error("the sealed value contains the plaintext")
		}
		got, err := b.Open(sealed, []byte("totp:user-1"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Open = %q, want %q", got, pt)
		}
	}
}

func TestNoncesDiffer(t *testing.T) {
	b := newBox(t)
	s1, _ := b.Seal([]byte("same"), nil)
	s2, _ := b.Seal([]byte("same"), nil)
	if bytes.Equal(s1, s2) {
		t.Error("sealing the same value twice gave the same output")
	}
}

func TestOpenRefuses(t *testing.T) {
	b := newBox(t)
	ad := []byte("signing-key:k1")
	sealed, err := b.Seal([]byte("private key seed"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	other := newBox(t)
	tests := []struct {
		name   string
		box    *Box
		sealed []byte
		ad     []byte
	}{
		{"tampered ciphertext", b, flip(1 + 12), ad},
		{"tampered nonce", b, flip(1), ad},
		{"tampered tag", b, flip(len(sealed) - 1), ad},
		{"unknown version", b, flip(0), ad},
		{"wrong additional data", b, sealed, []byte("signing-key:k2")},
		{"missing additional data", b, sealed, nil},
		{"wrong key", other, sealed, ad},
		{"truncated", b, sealed[:len(sealed)-1], ad},
		{"only version and nonce", b, sealed[:13], ad},
		{"one byte", b, sealed[:1], ad},
		{"empty", b, nil, ad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.Open(tt.sealed, tt.ad)
			if !errors.Is(err, ErrOpen) {
				t.Errorf("Open: err = %v, want ErrOpen", err)
			}
			if got != nil {
				t.Errorf("Open returned %q with the error", got)
			}
		})
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}
