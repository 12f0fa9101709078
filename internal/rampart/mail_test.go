package rampart_test

import (
	"bytes"
	"strings"
	"testing"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/rampart"
)

type wakeCounter struct{ n int }

func (w *wakeCounter) Notify() { w.n++ }

func newOutboxApp(t *testing.T, wake rampart.MailNotifier) *app.App {
	t.Helper()
	st, _ := sqliteStore(t)
	return buildApp(t, st, func(cfg *app.Config) { cfg.Mail = wake })
}

// TestOutboxSealsWhatItStores: the link token a message carries, and the
// address it goes to, are not in the database; the sealed value opens only
// as the message it was sealed for.
func TestOutboxSealsWhatItStores(t *testing.T) {
	wake := &wakeCounter{}
	a := newOutboxApp(t, wake)
	ctx := t.Context()
	const canary = "tok_CANARY_7f3a9b"
	m := rampart.Mail{Kind: rampart.MailPasswordReset, To: "ada@example.com", Subject: "Reset your password",
		Body: "Follow https://rampart.example/reset#" + canary + "\n"}
	var id string
	err := a.Store.Atomically(ctx, func(tx rampart.Store) error {
		var err error
		id, err = a.Services.Outbox.Enqueue(ctx, tx, m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Services.Outbox.Notify()
	if wake.n != 1 {
		t.Errorf("Notify woke the sender %d times, want 1", wake.n)
	}
	stored, err := a.Store.GetMail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{canary, "ada@example.com", "Reset your password"} {
		if bytes.Contains(stored.Sealed, []byte(secret)) {
			t.Errorf("the stored message holds %q in clear", secret)
		}
	}
	got, err := rampart.OpenMail(a.Deps.Sealer, stored)
	if err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Errorf("opened %+v, want %+v", got, m)
	}
	moved := *stored
	moved.ID = rampart.NewID()
	if _, err := rampart.OpenMail(a.Deps.Sealer, &moved); err == nil {
		t.Error("a sealed message moved to another row opened")
	}
}

// TestOutboxRefusesUnsafeMail: nothing a caller passes can add a header or
// a recipient.
func TestOutboxRefusesUnsafeMail(t *testing.T) {
	a := newOutboxApp(t, nil)
	ok := rampart.Mail{Kind: rampart.MailInvitation, To: "ada@example.com", Subject: "Welcome", Body: "hello"}
	for name, edit := range map[string]func(*rampart.Mail){
		"header in subject":   func(m *rampart.Mail) { m.Subject = "Hi\r\nBcc: eve@example.com" },
		"two recipients":      func(m *rampart.Mail) { m.To = "ada@example.com, eve@example.com" },
		"display name":        func(m *rampart.Mail) { m.To = "Ada <ada@example.com>" },
		"newline in address":  func(m *rampart.Mail) { m.To = "ada@example.com\r\nBcc: eve@example.com" },
		"unknown kind":        func(m *rampart.Mail) { m.Kind = "marketing" },
		"empty body":          func(m *rampart.Mail) { m.Body = "" },
		"oversized body":      func(m *rampart.Mail) { m.Body = strings.Repeat("x", rampart.MaxMailBody+1) },
		"overlong subject":    func(m *rampart.Mail) { m.Subject = strings.Repeat("x", rampart.MaxMailSubject+1) },
		"no recipient at all": func(m *rampart.Mail) { m.To = "" },
	} {
		m := ok
		edit(&m)
		if _, err := a.Services.Outbox.Enqueue(t.Context(), a.Store, m); rampart.ErrorKind(err) != rampart.KindInvalid {
			t.Errorf("%s: got %v, want Invalid", name, err)
		}
	}
	if _, err := a.Services.Outbox.Enqueue(t.Context(), a.Store, ok); err != nil {
		t.Errorf("a good message: %v", err)
	}
	if n, _ := a.Store.CountPendingMail(t.Context()); n != 1 {
		t.Errorf("%d messages queued, want only the good one", n)
	}
}
