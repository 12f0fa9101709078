package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"example.com/rampart/internal/rampart"
)

// Pagination cursors are opaque to clients: the position (creation time and
// id of the last item) plus an HMAC over the position and the scope that
// produced it — the tenant, the route and its filters. A cursor edited by a
// client, or replayed by another tenant or on another listing, is refused.
type cursorCodec struct {
	key []byte
}

const cursorMACSize = 16

func (c cursorCodec) mac(scope string, payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)[:cursorMACSize]
}

func (c cursorCodec) encode(scope string, cur rampart.Cursor) string {
	if cur.IsZero() {
		return ""
	}
	payload := binary.BigEndian.AppendUint64(nil, uint64(cur.CreatedAt.UnixMicro()))
	payload = append(payload, cur.ID...)
	return base64.RawURLEncoding.EncodeToString(append(payload, c.mac(scope, payload)...))
}

func (c cursorCodec) decode(scope, s string) (rampart.Cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 8+cursorMACSize {
		return rampart.Cursor{}, false
	}
	payload, sum := raw[:len(raw)-cursorMACSize], raw[len(raw)-cursorMACSize:]
	if !hmac.Equal(sum, c.mac(scope, payload)) {
		return rampart.Cursor{}, false
	}
	micros := int64(binary.BigEndian.Uint64(payload[:8]))
	return rampart.Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: string(payload[8:])}, true
}

const defaultPageLimit = 20

// maxCursorLength bounds ?cursor= (as the OpenAPI document says); the
// cursors this server issues are far shorter, so a longer one is refused
// before it is decoded.
const maxCursorLength = 1024

// parsePage reads ?limit= and ?cursor= from a request's query q. Query
// parameters are allowlisted: unknown ones, repeated ones (parameter
// pollution) and bad values are all answered 422 naming the parameter.
func (c cursorCodec) parsePage(q url.Values, scope string, allowed ...string) (rampart.Page, []FieldError) {
	var errs []FieldError
	known := map[string]bool{"limit": true, "cursor": true}
	for _, name := range allowed {
		known[name] = true
	}
	for name, values := range q {
		switch {
		case !known[name]:
			errs = append(errs, FieldError{Field: name, Message: "is not a known query parameter"})
		case len(values) > 1:
			errs = append(errs, FieldError{Field: name, Message: "must be given once"})
		}
	}
	page := rampart.Page{Limit: defaultPageLimit}
	if v := q.Get("limit"); v != "" {
		limit := fieldRules["pageLimit"]
		n, err := strconv.Atoi(v)
		if err != nil || !withinBounds(int64(n), limit) {
			errs = append(errs, FieldError{Field: "limit", Message: ruleMessage(limit, reflect.Int)})
		}
		page.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		var cur rampart.Cursor
		ok := checkString(v, fieldRules["cursor"]) == ""
		if ok {
			cur, ok = c.decode(scope, v)
		}
		if !ok {
			errs = append(errs, FieldError{Field: "cursor", Message: "is not a cursor this listing issued"})
		}
		page.After = cur
	}
	return page, errs
}
