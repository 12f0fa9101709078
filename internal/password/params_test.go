package password

import "testing"

func TestParamsValidate(t *testing.T) {
	with := func(f func(*Params)) Params {
		p := DefaultParams
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		p      Params
		wantOK bool
	}{
		{"default", DefaultParams, true},
		{"stronger", with(func(p *Params) { p.Memory = 65536; p.Time = 3 }), true},
		{"memory below floor", with(func(p *Params) { p.Memory = 19455 }), false},
		{"time below floor", with(func(p *Params) { p.Time = 1 }), false},
		{"46 MiB t=1 (OWASP pair, not our floor)", with(func(p *Params) { p.Memory = 47104; p.Time = 1 }), false},
		{"threads 2", with(func(p *Params) { p.Threads = 2 }), false},
		{"threads 0", with(func(p *Params) { p.Threads = 0 }), false},
		{"salt 15 bytes", with(func(p *Params) { p.SaltLen = 15 }), false},
		{"key 31 bytes", with(func(p *Params) { p.KeyLen = 31 }), false},
		{"memory above cap", with(func(p *Params) { p.Memory = MaxMemory + 1 }), false},
		{"time above cap", with(func(p *Params) { p.Time = MaxTime + 1 }), false},
		{"zero", Params{}, false},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (err == nil) != tt.wantOK {
			t.Errorf("%s: Validate(%+v) = %v, want ok=%v", tt.name, tt.p, err, tt.wantOK)
		}
	}
}

func TestPHCRoundTrip(t *testing.T) {
	in := phc{params: testParams, salt: []byte("0123456789abcdef"), key: []byte("0123456789abcdef0123456789abcdef")}
	s := in.String()
	const want = "$argon2id$v=19$m=1024,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
	if s != want {
		t.Fatalf("String() = %q, want %q", s, want)
	}
	out, err := parsePHC(s)
	if err != nil {
		t.Fatal(err)
	}
	if out.params != in.params || string(out.salt) != string(in.salt) || string(out.key) != string(in.key) {
		t.Errorf("parsePHC(String()) = %+v, want %+v", out, in)
	}
}

// TestPHCInterop verifies a hash written by the reference implementation
// (Debian's argon2 CLI, libargon2:
// `echo -n password | argon2 somesalt -id -t 2 -m 12 -p 1 -l 32 -e`),
// so that our encoding and derivation match other tools'.
func TestPHCInterop(t *testing.T) {
	const enc = "$argon2id$v=19$m=4096,t=2,p=1$c29tZXNhbHQ$jacJHQ+PoBstB/ZoVNk8re3s1yzVABZujceGiwVNJnk"
	h := newTestHasher(t, testParams, 1, 1)
	ok, rehash, err := h.Verify(t.Context(), "password", enc)
	if !ok || !rehash || err != nil {
		t.Errorf("Verify = %v, %v, %v, want true, true, nil", ok, rehash, err)
	}
	if ok, _, err := h.Verify(t.Context(), "Password", enc); ok || err != nil {
		t.Errorf("wrong password: Verify = %v, %v, want false, nil", ok, err)
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add("$argon2id$v=19$m=010,t=1,p=1$00000000000$00000000000000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePHC(s)
		if err != nil {
			return
		}
		// Anything accepted is safe to derive with and re-encodes to itself.
		if err := got.params.validateBounds(); err != nil {
			t.Fatalf("accepted out-of-bounds params: %v", err)
		}
		if got.String() != s {
			t.Fatalf("String() = %q, want %q", got.String(), s)
		}
	})
}
