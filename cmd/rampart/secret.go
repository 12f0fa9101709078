package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// Secret holds a value that must never be printed or logged. Every way of
// rendering it (fmt verbs, slog, JSON, text encoders) yields "REDACTED", or ""
// when it is empty so that "unset" stays visible. Only Reveal returns the value.
//
// fmt honours Format only on exported struct fields and top-level values; do
// not keep a Secret in an unexported field of a struct that may be printed.
type Secret string

const (
	redacted           = "REDACTED"
	maxSecretFileBytes = 64 << 10
)

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format makes every fmt verb (%v %s %q %x %d %#v ...) print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	io.WriteString(f, s.String())
}

// LogValue keeps the value out of slog output whatever the attribute key.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText covers encoding/json (as a JSON string), map keys and any other
// encoder that honours encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// secret returns the value of a secret variable given either directly or as
// NAME_FILE, and the name it came from ("" when unset).
func (p *problems) secret(env map[string]string, name string) (value, source string) {
	direct, file := env[name], env[name+"_FILE"]
	switch {
	case direct != "" && file != "":
		p.add(name, "set both "+name+" and "+name+"_FILE; use one")
		return "", ""
	case file != "":
		v, msg := readSecretFile(file)
		if msg != "" {
			p.add(name+"_FILE", msg)
			p.named[name] = true // so production does not also call it missing
			return "", ""
		}
		return v, name + "_FILE"
	case direct != "":
		return direct, name
	}
	return "", ""
}

// readSecretFile reads a mounted secret. The path is not secret and is named
// in problems; the content never is.
func readSecretFile(path string) (value, problem string) {
	// Stat before opening: opening a FIFO or device could block or never end.
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Sprintf("file %q does not exist", path)
	case errors.Is(err, fs.ErrPermission):
		return "", fmt.Sprintf("file %q is not readable (permission denied)", path)
	case err != nil:
		return "", fmt.Sprintf("file %q cannot be read", path)
	case !fi.Mode().IsRegular(): // symlinks are followed: Kubernetes mounts secrets through them
		return "", fmt.Sprintf("%q is not a regular file", path)
	case fi.Size() > maxSecretFileBytes:
		return "", fmt.Sprintf("file %q is larger than 64 KiB", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Sprintf("file %q cannot be opened", path)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	switch {
	case err != nil:
		return "", fmt.Sprintf("file %q cannot be read", path)
	case len(b) > maxSecretFileBytes: // it grew since Stat
		return "", fmt.Sprintf("file %q is larger than 64 KiB", path)
	}
	v := strings.TrimRight(string(b), "\r\n") // editors and `echo` add a newline
	if v == "" {
		return "", fmt.Sprintf("file %q is empty", path)
	}
	return v, ""
}
