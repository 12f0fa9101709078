package main

// The master key: how RAMPART_MASTER_KEY is decoded and judged, and the key
// file that gives development and test one with zero configuration.

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

const masterKeyFileName = "master.key"

// decodeMasterKey decodes RAMPART_MASTER_KEY: base64 in the standard or URL
// alphabet, padded or not, of exactly 32 bytes. The error never contains
// the value.
func decodeMasterKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != 32 {
			return nil, fmt.Errorf("decodes to %d bytes, must be exactly 32", len(b))
		}
		return b, nil
	}
	return nil, errors.New("must be base64 (standard or URL alphabet) of exactly 32 bytes")
}

// weakKey says why a decoded key does not look like 32 random bytes, or "".
// 32 random bytes have about 30 distinct values; fewer than 16 happens with
// negligible probability, and so does every byte being printable ASCII.
// Both catch keys made by hand: "aaaa...", a repeated pattern, a password.
func weakKey(b []byte) string {
	var seen [256]bool
	distinct, printable := 0, 0
	for _, x := range b {
		if !seen[x] {
			seen[x] = true
			distinct++
		}
		if 0x20 <= x && x <= 0x7e {
			printable++
		}
	}
	switch {
	case distinct < 16:
		return "has too few distinct byte values to be random"
	case printable == len(b):
		return "is printable text, not random bytes"
	}
	return ""
}

// ensureDevMasterKey gives development and test a master key with zero
// configuration: it loads DataDir/master.key, or creates it (32 random bytes,
// base64, mode 0600, directory 0700). It does nothing when a key is set and
// refuses to run in production, where the key must be managed explicitly.
// A key file that group or others can access is refused, not repaired: it
// may already have been copied.
func ensureDevMasterKey(c *Config) (created bool, err error) {
	if c.MasterKey != "" {
		return false, nil
	}
	if c.Env == envProduction {
		return false, errors.New("RAMPART_MASTER_KEY: required in production; no key file is created")
	}
	if c.DataDir == "" {
		return false, errors.New("RAMPART_DATA_DIR: needed to keep the development master key")
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("creating data directory: %w", err)
	}
	path := filepath.Join(c.DataDir, masterKeyFileName)

	key, err := readDevMasterKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createDevMasterKey(path)
		if errors.Is(err, fs.ErrExist) { // another process created it first
			key, err = readDevMasterKey(path)
		} else if err == nil {
			created = true
		}
	}
	if err != nil {
		return false, err
	}
	c.MasterKey = Secret(key)
	return created, nil
}

func readDevMasterKey(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err // fs.ErrNotExist is the caller's cue to create it
	}
	// Windows has no Unix permission bits to check.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("refusing master key file %s: mode %04o lets group or others access it; run chmod 600 on it", path, fi.Mode().Perm())
	}
	v, msg := readSecretFile(path)
	if msg != "" {
		return "", errors.New("master key " + msg)
	}
	if _, err := decodeMasterKey(v); err != nil {
		return "", fmt.Errorf("master key file %s: %w", path, err)
	}
	return v, nil
}

func createDevMasterKey(path string) (string, error) {
	b := make([]byte, 32)
	rand.Read(b) // never fails; crypto/rand crashes the program rather than return weak bytes
	key := base64.StdEncoding.EncodeToString(b)
	// O_EXCL: never overwrite a key that encrypts existing data.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.WriteString(f, key+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // a half-written key is worse than none
		return "", fmt.Errorf("writing master key file: %w", err)
	}
	return key, nil
}
