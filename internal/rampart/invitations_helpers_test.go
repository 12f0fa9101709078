package rampart_test

import (
	"regexp"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

var linkTokenInMail = regexp.MustCompile(`#token=(rpl_[A-Za-z0-9_-]{49})`)

// mailedLink takes every message waiting in st's outbox, one at a time and
// oldest first as the sender does, marks it sent, and returns the link token
// of the last one addressed to to.
func mailedLink(t *testing.T, st rampart.Store, sealer rampart.Sealer, to string) string {
	t.Helper()
	ctx := t.Context()
	token, n := "", 0
	for ; ; n++ {
		msgs, err := st.ClaimMail(ctx, time.Now().AddDate(10, 0, 0), time.Minute, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		m, err := rampart.OpenMail(sealer, msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailSent(ctx, msgs[0].ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if found := linkTokenInMail.FindStringSubmatch(m.Body); m.To == to && found != nil {
			token = found[1]
		}
	}
	if token == "" {
		t.Fatalf("no mail with a link for %s among %d", to, n)
	}
	return token
}
