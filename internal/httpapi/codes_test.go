package httpapi

import (
	"encoding/json/v2"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// TestEveryCodeHasAProblem: every code the domain can return
// (rampart.Codes, the closed set) has a row in codeProblems, answered with
// the status of its kind, and under a type of its own or, for an input
// code, the kind's generic one; the table has no row for anything else.
// A code added to the domain without a row here fails this test.
func TestEveryCodeHasAProblem(t *testing.T) {
	codes := rampart.Codes()
	if len(codes) == 0 {
		t.Fatal("rampart.Codes() is empty")
	}
	for _, c := range codes {
		pk, ok := codeProblems[c]
		switch kindPK := kindProblems[c.Kind()]; {
		case !ok:
			t.Errorf("code %q has no row in codeProblems", c)
		case pk.status != kindPK.status:
			t.Errorf("code %q: status %d, but its kind %v answers %d", c, pk.status, c.Kind(), kindPK.status)
		case pk.slug != string(c) && pk != kindPK:
			t.Errorf("code %q: type %q is neither its own nor its kind's", c, pk.slug)
		case pk.title == "":
			t.Errorf("code %q has no title", c)
		}
	}
	for c := range codeProblems {
		if c.Kind() == rampart.KindInternal {
			t.Errorf("codeProblems has a row for %q, which is no rampart.Code", c)
		}
	}
}

// TestCodeAnswers writes the error of each code as a handler would and
// checks what a client gets: the status, type and title of the code's row,
// and for an overload code the Retry-After its error carries, not a
// default.
func TestCodeAnswers(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range rampart.Codes() {
		var wait time.Duration
		overload := c.Kind() == rampart.KindRateLimited || c.Kind() == rampart.KindUnavailable
		if overload {
			wait = 17 * time.Second // no default is 17 s
		}
		err := &rampart.Error{Kind: c.Kind(), Code: c, Message: "a message", RetryAfter: wait}
		rr := httptest.NewRecorder()
		writeError(rr, httptest.NewRequest("GET", "/", nil), logger, err)
		var p Problem
		if err := json.Unmarshal(rr.Body.Bytes(), &p); err != nil {
			t.Fatalf("code %q: %v", c, err)
		}
		want := codeProblems[c]
		if rr.Code != want.status || p.Status != want.status || p.Type != problemTypeBase+want.slug || p.Title != want.title {
			t.Errorf("code %q: %d %+v, want %+v", c, rr.Code, p, want)
		}
		switch got := rr.Header().Get("Retry-After"); {
		case overload && got != strconv.Itoa(int(wait.Seconds())):
			t.Errorf("code %q: Retry-After %q, want the error's own %v", c, got, wait)
		case !overload && got != "":
			t.Errorf("code %q: Retry-After %q on a %d", c, got, rr.Code)
		}
	}
}

// TestOpenAPINamesEveryProblemType: the served document reads the error
// tables: every code's and every edge problem's type is named under its
// status on the operations that answer that status, and every problem a
// route lists (byCode) is a row of the table, so its status is documented.
func TestOpenAPINamesEveryProblemType(t *testing.T) {
	for _, rt := range bareRouteTable() {
		for _, pk := range rt.errors {
			if pk.status == 0 || pk.slug == "" {
				t.Errorf("%s %s lists a problem that is no row of the tables: %+v", rt.method, rt.path, pk)
			}
		}
	}
	var want []problemKind
	for _, c := range rampart.Codes() {
		want = append(want, codeProblems[c])
	}
	for _, pk := range edgeProblems {
		if pk != probMethod { // 405 is for a method no operation has, so no operation documents it
			want = append(want, pk)
		}
	}
	doc := fetchOpenAPI(t, newTestServer(t))
	named := map[problemKind]bool{}
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			for status, resp := range op.(map[string]any)["responses"].(map[string]any) {
				desc, _ := resp.(map[string]any)["description"].(string)
				for _, pk := range want {
					if strconv.Itoa(pk.status) == status &&
						(strings.Contains(desc, "/"+pk.slug+",") || strings.Contains(desc, "/"+pk.slug+" ")) {
						named[pk] = true
					}
				}
			}
		}
	}
	for _, pk := range want {
		if !named[pk] {
			t.Errorf("no %d response of the document names /%s", pk.status, pk.slug)
		}
	}
}
