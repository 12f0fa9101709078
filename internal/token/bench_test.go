package token

import (
	"context"
	"crypto/ed25519"
	"testing"
)

func BenchmarkIssue(b *testing.B) {
	e := newEnv(b)
	c := testClaims(e.clock.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.m.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures a token's first verification (signature and
// claims) and a repeated one (answered by the verified-token cache).
func BenchmarkVerify(b *testing.B) {
	e := newEnv(b)
	now := e.clock.Now()
	tok := issue(b, e.m, now)
	ctx := context.Background()
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.m.verify(ctx, tok, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.m.Verify(ctx, tok, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyParallel(b *testing.B) {
	e := newEnv(b)
	now := e.clock.Now()
	tok := issue(b, e.m, now)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.m.Verify(ctx, tok, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyForgedKID is the cost of a token naming an unknown kid
// while the reload is rate-limited: no signature check, no store query.
func BenchmarkVerifyForgedKID(b *testing.B) {
	e := newEnv(b)
	now := e.clock.Now()
	_, foreign, _ := ed25519.GenerateKey(nil)
	tok := forge(b, goodHeader("forged"), goodClaims(now), edSign(foreign))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.m.Verify(ctx, tok, now); err == nil {
			b.Fatal("forged token verified")
		}
	}
}

// BenchmarkEd25519Verify is the floor: the signature check alone.
func BenchmarkEd25519Verify(b *testing.B) {
	public, private, _ := ed25519.GenerateKey(nil)
	msg := make([]byte, 400)
	sig := ed25519.Sign(private, msg)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(public, msg, sig) {
			b.Fatal("bad signature")
		}
	}
}
