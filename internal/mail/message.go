// Package mail delivers the outbox (rampart.OutboxMessage): a Sender claims
// due messages from the store, opens them with the master key, hands them
// to a Transport (SMTP through go-mail, or .eml files for development), and
// settles each: sent, retried later with bounded exponential backoff, or
// given up on (a delivery_failure security event, an error log line and
// rampart_mail_failed_total).
//
// Nothing here logs or returns a recipient, subject, body or server reply
// text: a body carries a link token, an address is personal data, and a
// server's reply may quote either. Failures are reduced to fixed phrases
// and SMTP status codes (Reason).
package mail

import (
	"bytes"
	"context"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"example.com/rampart/internal/rampart"
)

// Message is one message as a Transport sends it.
type Message struct {
	ID      string // the outbox id; also the Message-ID's local part
	Kind    rampart.MailKind
	From    string // RAMPART_MAIL_FROM
	To      string
	Subject string
	Body    string // text/plain
	Date    time.Time
}

// Transport delivers one message. Deliver returns nil only when the message
// was handed over for good (accepted by the server, written and synced).
type Transport interface {
	Deliver(ctx context.Context, m Message) error
	// String says where mail goes, without credentials: for config check
	// and the start-up log.
	String() string
}

// build turns m into an RFC 5322 message: From, To, Subject, Date, a
// Message-ID made of the outbox id (so a message delivered twice after a
// crash is recognisable as one), a text/plain UTF-8 body in
// quoted-printable.
func build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, rampart.Errorf(rampart.KindInvalid, "mail: the sender address is not usable")
	}
	if err := msg.To(m.To); err != nil {
		return nil, rampart.Errorf(rampart.KindInvalid, "mail: the recipient address is not usable")
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.Date)
	msg.SetMessageIDWithValue(m.ID + "@" + domainOf(m.From))
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	return msg, nil
}

// domainOf is the domain of the sender's address, for the Message-ID.
func domainOf(from string) string {
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		return strings.TrimRight(from[i+1:], ">")
	}
	return "rampart.invalid"
}

// Render returns m as the RFC 5322 bytes a transport would send.
func Render(m Message) ([]byte, error) {
	msg, err := build(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := msg.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
