package httpapi

import (
	"regexp"

	"example.com/rampart/internal/password"
	"example.com/rampart/internal/rampart"
)

// fieldRules is every rule on a value the API takes or gives, by name, and
// the only place the edge writes one down. A struct field names its rule in
// a `validate` tag; the same entry then decides what decodeValid accepts,
// the field message a client reads (ruleMessage) and what the OpenAPI
// document says (schemaWithRule), so none of them can drift from another.
// The numbers are the domain's constants; a new password's length is the
// configured password policy's, filled in per server.
//
// On a response type the tag documents the rule the server's own values
// obey; nothing validates responses.
var fieldRules = map[string]rule{
	// Request members.
	"email":        {max: n(rampart.MaxEmailLength), format: "email"},
	"loginEmail":   {max: n(rampart.MaxEmailLength)},                                                           // lenient: a malformed address costs a 401, like any wrong guess
	"loginTenant":  {max: n(36), pattern: regexp.MustCompile(`^[0-9A-Za-z-]*$`), chars: "0-9, A-Z, a-z and -"}, // lenient: an id that is not one of the account's tenants costs a 401, like a wrong password
	"newPassword":  {password: true, format: "password"},
	"password":     {max: n(password.MaxPasswordBytes), format: "password"}, // a current password, checked against its hash
	"otp":          {max: n(rampart.MaxOTPLength), format: "password"},      // a TOTP or recovery code, as typed
	"refreshToken": {max: n(rampart.MaxRefreshTokenLength), format: "password"},
	"displayName":  textRule(rampart.MinDisplayNameLength, rampart.MaxDisplayNameLength),
	"organization": textRule(rampart.MinOrganizationLength, rampart.MaxOrganizationLength),
	"apiKeyName":   textRule(1, rampart.MaxAPIKeyNameLength),
	"role":         {enum: []string{string(rampart.RoleMember), string(rampart.RoleAdmin)}},
	"scopes":       {min: n(1), max: n(len(rampart.Scopes())), items: &rule{enum: rampart.Scopes()}},
	"orderItems":   {min: n(1), max: n(rampart.MaxOrderItems)},
	"sku":          {min: n(1), max: n(rampart.MaxSKULength), pattern: rampart.SKUPattern, chars: rampart.SKUCharacters},
	"quantity":     {min: n(1), max: n(rampart.MaxOrderQuantity)},
	"note":         {max: n(rampart.MaxOrderNoteLength), pattern: multiLineText, chars: "characters, without control characters other than tab and line breaks"},
	"orderChange":  {enum: []string{string(rampart.OrderCancelled), string(rampart.OrderFulfilled)}},
	// lenient: any bounded string; a malformed or tampered link token gets
	// the domain's one invalid-link answer, never a hint of what is wrong.
	"linkToken": {max: n(256), format: "password"},

	// Query parameters (queryParameters).
	"pageLimit": {min: n(1), max: n(rampart.MaxPageLimit)},
	"cursor":    {max: n(maxCursorLength), pattern: regexp.MustCompile(`^[A-Za-z0-9_-]+$`), chars: "A-Z, a-z, 0-9, _ and -"},
	"auditType": {min: n(1), max: n(64), pattern: auditTypePattern, chars: "a-z, 0-9, _ and ., starting with a letter"},

	// Values only the server writes.
	"id":             {min: n(36), max: n(36), format: "uuid"},
	"actorId":        {max: n(36), pattern: regexp.MustCompile(`^([0-9a-f-]{36}|operator)?$`)}, // a user or API key id; "operator" for rampart users ...; empty for the system
	"requestId":      {max: n(64), pattern: regexp.MustCompile(`^[A-Za-z0-9._-]*$`)},
	"ip":             {max: n(45), pattern: regexp.MustCompile(`^[0-9A-Fa-f.:]*$`)},
	"auditTarget":    {max: n(200), pattern: singleLineText},
	"orderStatus":    {enum: []string{string(rampart.OrderPending), string(rampart.OrderCancelled), string(rampart.OrderFulfilled)}},
	"accessToken":    {max: n(maxBearerLength), pattern: regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)},
	"tokenType":      {enum: []string{"Bearer"}},
	"expiresIn":      {min: n(1), max: n(int(rampart.MaxAccessTTL.Seconds()))},
	"issuedRefresh":  {max: n(rampart.MaxRefreshTokenLength), pattern: regexp.MustCompile(`^rt_[A-Za-z0-9_-]+$`)},
	"totpSecret":     {max: n(128), pattern: regexp.MustCompile(`^[A-Z2-7]+$`)},
	"otpauthUrl":     {max: n(512), format: "uri"},
	"recoveryCodes":  {max: n(rampart.RecoveryCodeCount), items: &rule{max: n(rampart.MaxOTPLength), pattern: regexp.MustCompile(`^[A-Za-z0-9-]+$`)}},
	"apiKey":         {max: n(128), pattern: regexp.MustCompile(`^rk_[0-9a-f]{32}_[a-z2-7]+$`)},
	"apiKeyPrefix":   {max: n(64), pattern: regexp.MustCompile(`^rk_[0-9a-f]{32}$`)},
	"grantedScopes":  {max: n(len(rampart.Scopes())), items: &rule{enum: rampart.Scopes()}},
	"auditSeq":       {min: n(1), max: n(maxSafeInteger)},
	"healthStatus":   {enum: []string{"ok", "degraded"}},
	"acceptedStatus": {enum: []string{"accepted"}},
	"pageItems":      {max: n(rampart.MaxPageLimit)},
	"memberships":    {max: n(rampart.MaxMemberships)},
	// A session's coarse client address (IPv4 /24, IPv6 /48) and its
	// user agent as stored (at most 200 characters, api.md v1.1).
	"clientAddress": {max: n(49), pattern: regexp.MustCompile(`^[0-9A-Fa-f.:/]*$`)},
	"userAgent":     {max: n(200), pattern: singleLineText},

	// Response headers: a CORS grant's origin, the structured values of
	// RateLimit and WWW-Authenticate, and a wait no longer than the
	// longest rate window (24 h) or sign-in delay (1 h).
	"origin":      {max: n(200), format: "uri"},
	"headerValue": {max: n(500), pattern: singleLineText},
	"retryAfter":  {min: n(1), max: n(24 * 60 * 60)},

	// Problem details (RFC 9457).
	"problemType":   {max: n(200), format: "uri"},
	"problemText":   {max: n(500), pattern: singleLineText},
	"httpStatus":    {min: n(400), max: n(599)},
	"fieldErrors":   {max: n(maxFieldErrors)},
	"fieldPath":     {max: n(maxFieldPathLength), pattern: singleLineText},
	"detailMessage": {max: n(500), pattern: singleLineText},
}

var (
	// singleLineText forbids control characters: names end up in logs,
	// e-mails and admin screens, where a line break or an escape
	// sequence could forge a line or restyle a terminal.
	singleLineText = regexp.MustCompile(`^[^\x00-\x1f\x7f]*$`)
	// multiLineText also allows tab, line feed and carriage return.
	multiLineText = regexp.MustCompile(`^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$`)
)

// textRule is a name people type: min to max characters, on one line.
func textRule(minLength, maxLength int) rule {
	return rule{min: n(minLength), max: n(maxLength), pattern: singleLineText, chars: "characters, without control characters"}
}

const (
	// maxBearerLength is the longest credential bearerToken reads.
	maxBearerLength = 4096
	// maxFieldErrors caps the field errors of one problem: enough for
	// every rule of the largest body, and bounded whatever a client sends.
	maxFieldErrors = 100
	// maxTimestampLength is RFC 3339 with nanoseconds and an offset
	// ("2006-01-02T15:04:05.999999999+07:00"); decodeValid refuses longer.
	maxTimestampLength = 35
	// maxFieldPathLength bounds a field error's path ("items[0].sku").
	maxFieldPathLength = 200
	// maxSafeInteger is the largest integer a JSON number carries
	// exactly in every client (2^53 - 1).
	maxSafeInteger = 1<<53 - 1
)

func n(v int) *int { return &v }
