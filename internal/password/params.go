package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Params are the argon2id cost parameters of a hash.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes (the "p" of PHC)
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes of derived tag
}

// DefaultParams are OWASP's first argon2id configuration (m=19 MiB, t=2,
// p=1), with a 128-bit salt and a 32-byte tag, as required by security
// baseline row PWD-05.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// The floor is PWD-05 taken literally: m ≥ 19456 KiB, t ≥ 2, p = 1, salt
// 128 bits, tag 32 bytes. OWASP's equal-strength alternatives (46 MiB/t=1,
// 12 MiB/t=3, ...) are deliberately not accepted: one rule is easier to
// audit than a table. p is pinned to 1 because Hasher counts one CPU per
// running hash; p>1 would make x/crypto spawn extra goroutines behind the
// limiter's back.
const (
	floorMemory  = 19456
	floorTime    = 2
	floorSaltLen = 16
	floorKeyLen  = 32
)

// Sanity limits for any parameters we derive with, including ones read back
// from stored hashes. A corrupted or injected row must not be able to make a
// login allocate gigabytes or spin for minutes, and x/crypto/argon2 panics
// on t=0 or p=0. The upper bounds are far above anything this server should
// run with; the lower bounds are RFC 9106's (salt ≥ 8 bytes, m ≥ 8·p KiB),
// with the tag raised to 16 bytes.
const (
	MaxMemory  = 256 * 1024 // KiB, 256 MiB
	MaxTime    = 16
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// Validate reports whether p meets the floor of security baseline PWD-05
// (argon2id m ≥ 19456 KiB, t ≥ 2, p = 1, 16-byte salt, 32-byte tag) and
// stays within the package's sanity limits. Startup should call it so that
// weaker parameters are refused (CFG-01); New calls it too.
func (p Params) Validate() error {
	if err := p.validateBounds(); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	switch {
	case p.Memory < floorMemory:
		return fmt.Errorf("password: argon2id memory %d KiB is below the floor of %d KiB (PWD-05)", p.Memory, floorMemory)
	case p.Time < floorTime:
		return fmt.Errorf("password: argon2id time %d is below the floor of %d (PWD-05)", p.Time, floorTime)
	case p.Threads != 1:
		return fmt.Errorf("password: argon2id threads must be 1 (PWD-05), got %d", p.Threads)
	case p.SaltLen < floorSaltLen:
		return fmt.Errorf("password: salt length %d is below the floor of %d bytes (PWD-05)", p.SaltLen, floorSaltLen)
	case p.KeyLen < floorKeyLen:
		return fmt.Errorf("password: key length %d is below the floor of %d bytes (PWD-05)", p.KeyLen, floorKeyLen)
	}
	return nil
}

// validateBounds checks only what makes a derivation safe to run, not the
// security floor: old, weaker hashes must still verify so they can be
// rehashed.
func (p Params) validateBounds() error {
	switch {
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("argon2id time %d out of range [1, %d]", p.Time, MaxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("argon2id threads %d out of range [1, %d]", p.Threads, maxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("argon2id memory %d KiB out of range [%d, %d]", p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d out of range [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d out of range [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// ErrMalformedHash is returned when a stored hash cannot be parsed. Error
// texts never include the hash itself: hashes must not end up in logs.
var ErrMalformedHash = errors.New("password: malformed hash")

// ErrUnknownAlgorithm is returned for a stored hash that is neither argon2id
// nor bcrypt.
var ErrUnknownAlgorithm = errors.New("password: unknown hash algorithm")

// b64 is the PHC string encoding: standard alphabet, no padding. Strict
// rejects non-zero trailing bits, so each value has exactly one encoding.
var b64 = base64.RawStdEncoding.Strict()

// phc is a decoded "$argon2id$v=19$m=…,t=…,p=…$salt$key" string.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePHC decodes an argon2id PHC string. It accepts only the form we
// write (version 19, parameters in the order m,t,p, no optional fields),
// which is also what libargon2 and the common Go/Python/Node libraries emit.
func parsePHC(s string) (phc, error) {
	// The base64 decoder skips \r and \n; refuse them so that a value with an
	// embedded newline is not silently accepted.
	if strings.ContainsAny(s, "\r\n") {
		return phc{}, fmt.Errorf("%w: unexpected newline", ErrMalformedHash)
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return phc{}, fmt.Errorf("%w: want 6 argon2id fields", ErrMalformedHash)
	}
	if f[2] != "v=19" {
		return phc{}, fmt.Errorf("%w: unsupported argon2 version", ErrMalformedHash)
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return phc{}, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
	}
	var n [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return phc{}, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
		}
		bits := 32
		if name == "p=" {
			bits = 8
		}
		u, err := strconv.ParseUint(v, 10, bits)
		// PHC forbids leading zeros; refusing them keeps one encoding per hash.
		if err != nil || (len(v) > 1 && v[0] == '0') {
			return phc{}, fmt.Errorf("%w: bad parameter %s", ErrMalformedHash, strings.TrimSuffix(name, "="))
		}
		n[i] = u
	}
	salt, err := b64.DecodeString(f[4])
	if err != nil {
		return phc{}, fmt.Errorf("%w: bad salt encoding", ErrMalformedHash)
	}
	key, err := b64.DecodeString(f[5])
	if err != nil {
		return phc{}, fmt.Errorf("%w: bad key encoding", ErrMalformedHash)
	}
	p := Params{
		Memory:  uint32(n[0]),
		Time:    uint32(n[1]),
		Threads: uint8(n[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.validateBounds(); err != nil {
		return phc{}, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return phc{params: p, salt: salt, key: key}, nil
}
