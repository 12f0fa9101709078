package mail_test

import (
	"testing"
	"time"

	"example.com/rampart/internal/egress"
	"example.com/rampart/internal/mail"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil/smtptest"
)

// TestSMTPGoesThroughTheEgressAllowlist: the SMTP transport dials only
// through the dialer it is given, so a server that the egress allowlist
// does not name is never reached, and the outbox says why in a fixed phrase.
func TestSMTPGoesThroughTheEgressAllowlist(t *testing.T) {
	r := newRig(t)
	srv := smtptest.Start(t, smtptest.Options{})
	e := endpoint(t, srv.Addr, mail.LoopbackPlain, "", "")
	// The same host on another port: allowlisted is the host and port
	// together, not the host alone.
	other := e.Port + 1
	if e.Port == 65535 {
		other = e.Port - 1
	}
	rule, err := egress.HostRule(e.Host, other)
	if err != nil {
		t.Fatal(err)
	}
	dialer, err := egress.New(egress.Config{Rules: []egress.Rule{rule}, Events: r.events})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := mail.NewSMTP(mail.SMTPConfig{Endpoint: e, Dial: dialer.DialContext, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	id := r.enqueue()
	r.sender(tr, nil).Pass(t.Context())

	stored, err := r.store.GetMail(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.LastError != "refused by the egress allowlist" || stored.Attempts != 1 || !stored.SentAt.IsZero() {
		t.Errorf("a server off the allowlist: the outbox holds reason %q, %d attempts, sent at %v; want the refusal, 1, none",
			stored.LastError, stored.Attempts, stored.SentAt)
	}
	if srv.Attempts() != 0 || len(srv.Messages()) != 0 {
		t.Errorf("the server off the allowlist saw %d RCPT and %d messages, want none", srv.Attempts(), len(srv.Messages()))
	}
	refused := 0
	for _, ev := range r.events.all() {
		if ev.Type == rampart.EventEgressRefused {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("no egress refusal event among %+v", r.events.all())
	}
}
