package httpapi

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"net/http"
	"testing"
)

// FuzzUnmarshalStrict checks the strict decoder's promises on any input:
// it never panics; it fails only with a 400 or 422 problem whose text names
// no library; and whatever it accepts is one valid JSON object with no
// duplicate or unknown member names, so a bypass such as a case variant or
// a second "email" cannot slip through. Seeds are in testdata/fuzz.
func FuzzUnmarshalStrict(f *testing.F) {
	known := map[string]bool{"items": true, "note": true, "email": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst testOrder
		err := unmarshalStrict(body, &dst)
		if err != nil {
			de, ok := errors.AsType[*decodeError](err)
			if !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if s := de.problem.status; s != http.StatusBadRequest && s != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", s)
			}
			if internals.MatchString(de.detail) {
				t.Fatalf("detail leaks internals: %q", de.detail)
			}
			return
		}
		if !jsontext.Value(body).IsValid() {
			t.Fatalf("accepted invalid JSON (duplicates, bad UTF-8 or syntax): %q", body)
		}
		var members map[string]jsontext.Value
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		for name := range members {
			if !known[name] {
				t.Fatalf("accepted unknown member %q", name)
			}
		}
	})
}
