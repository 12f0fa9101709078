package rampart

import (
	"regexp"
	"time"
)

// Limits on what clients send, written once. The HTTP edge validates
// requests with them, words its field messages from them and publishes them
// in the OpenAPI document (httpapi/rules.go); the service checks the ones it
// owns again, whoever calls it. The password's length is the password
// policy's (internal/password), which is configurable.
const (
	MaxEmailLength        = 254 // RFC 5321's limit on a path, which bounds an address
	MinDisplayNameLength  = 2
	MaxDisplayNameLength  = 50
	MinOrganizationLength = 2
	MaxOrganizationLength = 100
	// MaxOTPLength bounds a TOTP or recovery code as typed (spaces and
	// dashes included); real codes are far shorter.
	MaxOTPLength = 64
	// MaxRefreshTokenLength bounds a refresh token; issued ones are shorter.
	MaxRefreshTokenLength = 256
)

// MaxAccessTTL is the longest an access token may live (rampart.New refuses
// a longer configuration): the bound on how long a stolen one works.
const MaxAccessTTL = 15 * time.Minute

// SKUPattern is what a stock-keeping unit looks like, and SKUCharacters
// says it in words for people: 1 to MaxSKULength of them.
var (
	SKUPattern    = regexp.MustCompile(`^[A-Z0-9-]+$`)
	SKUCharacters = "A-Z, 0-9 and -"
)
