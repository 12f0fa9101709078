package password

import (
	"context"
	"runtime"
	"testing"

	"golang.org/x/crypto/argon2"
)

// reportRate adds a hashes/s metric: with RunParallel, ns/op is wall time
// divided by the total count, so this is the machine's throughput.
func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkArgon2idRaw is the cost of x/crypto's argon2id at DefaultParams,
// the baseline the Hasher's overhead is measured against.
func BenchmarkArgon2idRaw(b *testing.B) {
	p := DefaultParams
	pw, salt := []byte("correct horse battery staple"), make([]byte, p.SaltLen)
	b.Run("single", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
		reportRate(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			}
		})
		reportRate(b)
	})
}

// BenchmarkHasherVerify is a successful Verify at DefaultParams through the
// Hasher (parse, NFKC, limiter, derive, compare). The parallel case runs
// GOMAXPROCS callers against maxConcurrent = NumCPU.
func BenchmarkHasherVerify(b *testing.B) {
	h, err := New(DefaultParams, 0, 1024)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const pw = "correct horse battery staple"
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		b.Fatal(err)
	}
	verify := func(b *testing.B) {
		if ok, _, err := h.Verify(ctx, pw, enc); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
	b.Run("single", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			verify(b)
		}
		reportRate(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				verify(b)
			}
		})
		reportRate(b)
		b.ReportMetric(float64(runtime.NumCPU()), "slots")
	})
}

// BenchmarkLoadCommonPasswords is the one-time cost of building the
// blocklist set on first use.
func BenchmarkLoadCommonPasswords(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		loadCommonPasswords()
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	commonPasswords() // exclude the one-time load
	b.ReportAllocs()
	for b.Loop() {
		if err := DefaultPolicy.Check("correct horse battery staple", "rampart", "alice@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
