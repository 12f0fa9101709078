package rampart_test

import (
	"regexp"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

var linkTokenInMail = regexp.MustCompile(`#token=(rpl_[A-Za-z0-9_-]{49})`)

// mailedLink takes every message waiting in st's outbox, marks it sent,
// and returns the link token of the last one addressed to to.
func mailedLink(t *testing.T, st rampart.Store, sealer rampart.Sealer, to string) string {
	t.Helper()
	ctx := t.Context()
	msgs, err := st.ClaimMail(ctx, time.Now().AddDate(10, 0, 0), time.Minute, rampart.MaxMailClaim)
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	for _, msg := range msgs {
		m, err := rampart.OpenMail(sealer, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailSent(ctx, msg.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if found := linkTokenInMail.FindStringSubmatch(m.Body); m.To == to && found != nil {
			token = found[1]
		}
	}
	if token == "" {
		t.Fatalf("no mail with a link for %s among %d", to, len(msgs))
	}
	return token
}
