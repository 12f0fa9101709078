package rampart

import (
	"context"
	"encoding/json"
	"net/mail"
	"strings"
	"time"
)

// Mail is a plain-text message the domain sends: an invitation, a reset
// link, a verification link, a notice. Its body usually carries a link
// token, so it is as secret as the token until it is delivered.
type Mail struct {
	Kind    MailKind
	To      string // one address
	Subject string
	Body    string // text/plain
}

// MailKind names what a message is for. The set is closed (MailKinds): the
// kind labels the mail metrics, so their cardinality is bounded.
type MailKind string

const (
	MailInvitation    MailKind = "invitation"
	MailPasswordReset MailKind = "password_reset"
	MailVerification  MailKind = "verification"
	MailNotice        MailKind = "notice" // e.g. "someone tried to sign up with your address"
)

// MailKinds is every MailKind.
func MailKinds() []MailKind {
	return []MailKind{MailInvitation, MailPasswordReset, MailVerification, MailNotice}
}

// Bounds of a Mail, checked by Outbox.Enqueue.
const (
	MaxMailSubject = 200
	MaxMailBody    = 64 << 10
)

// OutboxMessage is a Mail in the outbox (Store.EnqueueMail): stored in the
// same transaction as the token it carries, delivered later by a sender
// (internal/mail), at least once.
//
// Sealed holds the recipient, subject and body, sealed under the master key
// (Sealer) with additional data MailAD(ID): a copy of the database alone
// does not hand out live link tokens or the addresses they go to, and a
// sealed value moved to another row does not open. Stores never see the
// plaintext. Sealed is erased (nil) once the message is sent or has failed
// for good: nothing is left to deliver, so nothing is kept.
type OutboxMessage struct {
	ID            string
	Kind          MailKind
	Sealed        []byte
	CreatedAt     time.Time
	Attempts      int       // delivery attempts begun (ClaimMail counts them)
	NextAttemptAt time.Time // not claimed before this
	ClaimedUntil  time.Time // the lease of the sender holding it; zero when none
	SentAt        time.Time // zero until sent
	FailedAt      time.Time // zero unless given up on
	LastError     string    // a fixed phrase from the sender, never server text or an address
}

func (m *OutboxMessage) roundTimes() {
	roundEach(&m.CreatedAt, &m.NextAttemptAt, &m.ClaimedUntil, &m.SentAt, &m.FailedAt)
}

// MaxMailClaim is the most messages one ClaimMail hands out.
const MaxMailClaim = 100

// CheckMailClaim returns an Invalid error when a ClaimMail cannot run.
func CheckMailClaim(lease time.Duration, limit int) error {
	if lease <= 0 || limit < 1 || limit > MaxMailClaim {
		return Errorf(KindInvalid, "a mail claim needs a positive lease and a limit from 1 to %d", MaxMailClaim)
	}
	return nil
}

// MailAD is the additional data a message's sealed content is bound to.
func MailAD(id string) []byte { return []byte("mail:" + id) }

// MailNotifier wakes the mail sender after a message was committed to the
// outbox, so it goes out at once rather than at the sender's next poll.
// Notify never blocks; a lost wake-up only delays delivery to the poll.
type MailNotifier interface {
	Notify()
}

// Outbox puts mail into the store's outbox. The zero Outbox (no Sealer) is
// not usable; services built by New hold one.
//
// A flow that sends a link does, in one Store.Atomically unit, whatever
// creates the token and then Outbox.Enqueue(ctx, tx, mail); after the unit
// commits it calls Outbox.Notify. A unit rolled back leaves no mail, and a
// committed one loses none, whatever happens to the process afterwards.
type Outbox struct {
	sealer   Sealer
	notifier MailNotifier
	now      func() time.Time
}

// NewOutbox returns an Outbox that seals with sealer and wakes notifier (nil:
// the sender finds the message at its next poll).
func NewOutbox(sealer Sealer, notifier MailNotifier, now func() time.Time) Outbox {
	if now == nil {
		now = time.Now
	}
	return Outbox{sealer: sealer, notifier: notifier, now: now}
}

// sealedMail is what Sealed holds.
type sealedMail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// Enqueue checks m, seals it and stores it through st, which is normally the
// tx of the Atomically unit that also stores the token m carries. It returns
// the message's id.
func (o Outbox) Enqueue(ctx context.Context, st Store, m Mail) (string, error) {
	if err := CheckMail(m); err != nil {
		return "", err
	}
	if o.sealer == nil {
		return "", Errorf(KindInternal, "outbox: no sealer")
	}
	id := NewID()
	plain, err := json.Marshal(sealedMail{To: m.To, Subject: m.Subject, Body: m.Body})
	if err != nil {
		return "", WrapError(KindInternal, err, "")
	}
	sealed, err := o.sealer.Seal(plain, MailAD(id))
	if err != nil {
		return "", WrapError(KindInternal, err, "")
	}
	now := o.now()
	msg := &OutboxMessage{ID: id, Kind: m.Kind, Sealed: sealed, CreatedAt: now, NextAttemptAt: now}
	if err := st.EnqueueMail(ctx, msg); err != nil {
		return "", err
	}
	return id, nil
}

// Notify wakes the sender; call it after the unit that enqueued commits.
func (o Outbox) Notify() {
	if o.notifier != nil {
		o.notifier.Notify()
	}
}

// OpenMail opens a message's sealed content.
func OpenMail(sealer Sealer, m *OutboxMessage) (Mail, error) {
	plain, err := sealer.Open(m.Sealed, MailAD(m.ID))
	if err != nil {
		return Mail{}, WrapError(KindInternal, err, "")
	}
	var s sealedMail
	if err := json.Unmarshal(plain, &s); err != nil {
		return Mail{}, WrapError(KindInternal, err, "")
	}
	return Mail{Kind: m.Kind, To: s.To, Subject: s.Subject, Body: s.Body}, nil
}

// CheckMail returns an Invalid error for a message that must not be sent:
// an unknown kind, anything but one plain address, a subject that could add
// header lines, an empty or oversized body.
func CheckMail(m Mail) error {
	known := false
	for _, k := range MailKinds() {
		known = known || k == m.Kind
	}
	switch {
	case !known:
		return Errorf(KindInvalid, "mail: unknown kind")
	case !isPlainAddress(m.To):
		return Errorf(KindInvalid, "mail: the recipient must be one plain address")
	case m.Subject == "" || len(m.Subject) > MaxMailSubject || strings.ContainsAny(m.Subject, "\r\n"):
		return Errorf(KindInvalid, "mail: the subject must be one line of at most %d bytes", MaxMailSubject)
	case m.Body == "" || len(m.Body) > MaxMailBody:
		return Errorf(KindInvalid, "mail: the body must be 1 to %d bytes", MaxMailBody)
	}
	return nil
}

// isPlainAddress reports whether s is a bare addr-spec (no display name, no
// list, no control characters).
func isPlainAddress(s string) bool {
	if s == "" || len(s) > MaxEmailLength || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// PrepareNewMail is the store's part of EnqueueMail that needs no database:
// it refuses a message without an id or sealed content and gives it no
// attempt, claim or outcome, and rounds its times.
func PrepareNewMail(m *OutboxMessage) error {
	if m.ID == "" || len(m.Sealed) == 0 {
		return Errorf(KindInvalid, "a queued message needs an id and sealed content")
	}
	m.Attempts, m.ClaimedUntil, m.SentAt, m.FailedAt, m.LastError = 0, time.Time{}, time.Time{}, time.Time{}, ""
	RoundTimes(m)
	return nil
}

// mailLink is the link a message carries: the page at path under the public
// URL, with the token in the fragment. A fragment is never sent to a server,
// so the token stays out of the web server's access logs and out of the
// Referer header of whatever that page loads; the page reads it and POSTs
// it to the API.
func mailLink(publicURL, path, token string) string {
	return publicURL + path + "#token=" + token
}
