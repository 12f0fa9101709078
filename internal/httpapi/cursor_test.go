package httpapi

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// TestCursorLengthIsBounded: parsePage refuses a cursor longer than
// maxCursorLength, the bound the OpenAPI document states, even one that
// carries a valid MAC; shorter cursors of the listing are accepted.
func TestCursorLengthIsBounded(t *testing.T) {
	c := cursorCodec{key: make([]byte, 32)}
	const scope = "tenant|user:u|orders"
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	ok := c.encode(scope, rampart.Cursor{CreatedAt: at, ID: rampart.NewID()})
	page, errs := c.parsePage(url.Values{"cursor": {ok}}, scope)
	if errs != nil || page.After.IsZero() {
		t.Fatalf("a cursor of the listing: %v %+v", errs, page)
	}

	long := c.encode(scope, rampart.Cursor{CreatedAt: at, ID: strings.Repeat("a", maxCursorLength)})
	if len(long) <= maxCursorLength {
		t.Fatalf("test cursor is only %d bytes", len(long))
	}
	if _, ok := c.decode(scope, long); !ok {
		t.Fatal("the long cursor should be validly signed, so only its length refuses it")
	}
	_, errs = c.parsePage(url.Values{"cursor": {long}}, scope)
	if len(errs) != 1 || errs[0].Field != "cursor" {
		t.Fatalf("a %d-byte cursor: %v, want one error naming cursor", len(long), errs)
	}

	_, errs = c.parsePage(url.Values{"limit": {"101"}}, scope)
	if len(errs) != 1 || errs[0].Message != "must be a whole number from 1 to 100" {
		t.Errorf("limit over MaxPageLimit: %v", errs)
	}
}

// TestOverlongCursorThroughTheServer: the same refusal through a listing
// answers 422 naming cursor, like any other bad cursor.
func TestOverlongCursorThroughTheServer(t *testing.T) {
	a := newTestApp(t)
	_, admin := a.newTenant()
	r := a.do("GET", "/v1/orders?cursor="+strings.Repeat("A", maxCursorLength+1), a.token(admin), nil)
	var p Problem
	r.json(t, &p)
	if r.Code != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "cursor" {
		t.Fatalf("%d %s, want 422 naming cursor", r.Code, r.Body)
	}
}
