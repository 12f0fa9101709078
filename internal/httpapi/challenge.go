package httpapi

import (
	"strconv"
	"strings"
)

// bearerRealm names the protection space in every Bearer challenge.
const bearerRealm = "rampart"

// bearerChallenge is one WWW-Authenticate challenge for the Bearer scheme
// (RFC 6750 §3). Its String is the header value: every answer that tells a
// client how to authenticate goes through it, so the quoting is right once.
type bearerChallenge struct {
	// Error is the RFC 6750 §3.1 error code ("invalid_token",
	// "insufficient_scope") or RFC 9470's "insufficient_user_authentication";
	// empty when the request carried no credentials at all (§3.1: "SHOULD NOT
	// include an error code").
	Error string
	// Description is error_description: for a developer, not for display.
	Description string
	// Scope is the space-separated scope that would have been enough
	// (RFC 6750 §3, with insufficient_scope).
	Scope string
	// MaxAgeSeconds is RFC 9470's max_age: how recent, in seconds, the
	// user's authentication must be. Zero leaves it out.
	MaxAgeSeconds int64
}

// String renders the challenge: realm first, then the parameters set. Text
// values are quoted-strings (RFC 6750 §3 defines them so); max_age is a
// number, written as a token (RFC 9110 §11.2 allows either form).
//
// The realm goes only on the 401s that ask for (other) credentials. The
// contract spells the insufficient_scope and step-up challenges without
// one, exactly as RFC 6750 §3.1 and RFC 9470 §3 show them, and clients
// match those strings.
func (c bearerChallenge) String() string {
	var b strings.Builder
	b.WriteString("Bearer ")
	if c.Error == "" || c.Error == "invalid_token" {
		writeAuthParam(&b, "realm", bearerRealm)
	}
	if c.Error != "" {
		writeAuthParam(&b, "error", c.Error)
	}
	if c.Description != "" {
		writeAuthParam(&b, "error_description", c.Description)
	}
	if c.Scope != "" {
		writeAuthParam(&b, "scope", c.Scope)
	}
	if c.MaxAgeSeconds > 0 {
		b.WriteString(", max_age=")
		b.WriteString(strconv.FormatInt(c.MaxAgeSeconds, 10))
	}
	return b.String()
}

// writeAuthParam appends `, name="value"` (no comma before the first).
// RFC 6750 §3 limits these values to printable ASCII without `"` and `\`,
// so anything else is dropped rather than escaped: the values are ours,
// and a header must never be able to carry a quote or a line break.
func writeAuthParam(b *strings.Builder, name, value string) {
	if b.Len() > len("Bearer ") {
		b.WriteString(", ")
	}
	b.WriteString(name)
	b.WriteString(`="`)
	for i := 0; i < len(value); i++ {
		if c := value[i]; c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
