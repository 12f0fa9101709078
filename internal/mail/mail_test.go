package mail_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/mail"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/seal"
	"example.com/rampart/internal/sqlite"
	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/smtptest"
)

// canary is a link token no log line may ever carry; password likewise for
// SMTP credentials.
const (
	canary   = "LINKTOKEN_CANARY_9d1c2e7b"
	password = "SMTPPASS_CANARY_51aa"
	to       = "ada.lovelace@example.com"
)

type rig struct {
	t      *testing.T
	store  rampart.Store
	box    *seal.Box
	outbox rampart.Outbox
	logs   *testutil.SyncBuffer
	logger *slog.Logger
	reg    *prometheus.Registry
	events *eventLog
}

type eventLog struct {
	mu  sync.Mutex
	got []rampart.SecurityEvent
}

func (e *eventLog) Record(_ context.Context, ev rampart.SecurityEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
}

func (e *eventLog) all() []rampart.SecurityEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]rampart.SecurityEvent(nil), e.got...)
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "rampart.db"))
	st = testutil.Migrated(t, st, err)
	key := make([]byte, 32)
	rand.Read(key)
	box, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	r := &rig{t: t, store: st, box: box, outbox: rampart.NewOutbox(box, nil, nil), logs: logs,
		logger: logging.New(logs, slog.LevelDebug), reg: prometheus.NewRegistry(), events: &eventLog{}}
	t.Cleanup(func() {
		// Whatever happened, no log line carries the link, the address or
		// the SMTP password.
		for _, secret := range []string{canary, to, password} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log carries %q:\n%s", secret, logs.String())
			}
		}
	})
	return r
}

// enqueue queues a reset message whose link carries canary.
func (r *rig) enqueue() string {
	r.t.Helper()
	var id string
	err := r.store.Atomically(r.t.Context(), func(tx rampart.Store) error {
		var err error
		id, err = r.outbox.Enqueue(r.t.Context(), tx, rampart.Mail{Kind: rampart.MailPasswordReset, To: to,
			Subject: "Reset your Rampart password",
			Body:    "Someone asked to reset your password. Follow this link within 30 minutes:\n\nhttps://rampart.example/reset?token=" + canary + "\n\nIf it was not you, ignore this message.\n"})
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *rig) sender(tr mail.Transport, edit func(*mail.Config)) *mail.Sender {
	r.t.Helper()
	cfg := mail.Config{Store: r.store, Sealer: r.box, Transport: tr, From: "Rampart <no-reply@rampart.example>",
		Events: r.events, Logger: r.logger, Registry: r.reg,
		// A Pass claims whatever is due until nothing is: a retry must not
		// fall due again while the same Pass is still running, which takes
		// more than a few milliseconds under -race on a busy machine.
		FirstRetry: 300 * time.Millisecond, MaxRetry: 600 * time.Millisecond, SendTimeout: 5 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	s, err := mail.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *rig) metric(name, kind string) float64 {
	r.t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() == kind {
				if m.Counter != nil {
					return m.Counter.GetValue()
				}
				return m.Gauge.GetValue()
			}
		}
	}
	r.t.Fatalf("no metric %s{kind=%q}", name, kind)
	return 0
}

func dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func endpoint(t *testing.T, addr string, sec mail.Security, user, pass string) mail.Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return mail.Endpoint{Host: host, Port: uint16(p), Security: sec, User: user, Password: pass}
}

func smtpTransport(t *testing.T, srv *smtptest.Server, sec mail.Security, user, pass string) *mail.SMTP {
	t.Helper()
	cfg := mail.SMTPConfig{Endpoint: endpoint(t, srv.Addr, sec, user, pass), Dial: dial, Timeout: 5 * time.Second}
	if srv.RootCAs != nil {
		c := tls12{}.config(srv)
		cfg.TLSConfig = &c
	}
	tr, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var linkRE = regexp.MustCompile(`https://rampart\.example/reset\?token=([A-Za-z0-9_]+)`)

// readLink parses a received message as RFC 5322 and returns the link
// token in its body.
func readLink(t *testing.T, raw []byte) (*netmail.Message, string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, raw)
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		body = decodeQP(t, body)
	}
	m := linkRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no link in the body:\n%s", body)
	}
	return msg, string(m[1])
}

func TestSMTPDeliversOverSTARTTLSAndTheLinkCanBeRead(t *testing.T) {
	r := newRig(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: true, User: "rampart", Password: password})
	id := r.enqueue()
	s := r.sender(smtpTransport(t, srv, mail.StartTLS, "rampart", password), nil)
	if n := s.Pass(t.Context()); n != 1 {
		t.Fatalf("a pass attempted %d messages, want 1", n)
	}
	got := srv.Wait(t, 1, 5*time.Second)
	if !got[0].TLS || got[0].User != "rampart" || len(got[0].To) != 1 || got[0].To[0] != to {
		t.Errorf("received over TLS=%v as %q for %v", got[0].TLS, got[0].User, got[0].To)
	}
	msg, token := readLink(t, got[0].Data)
	if token != canary {
		t.Errorf("the link carries %q, want the token enqueued", token)
	}
	if msg.Header.Get("Subject") != "Reset your Rampart password" || !strings.Contains(msg.Header.Get("Message-Id"), id) {
		t.Errorf("headers: %v", msg.Header)
	}
	stored, err := r.store.GetMail(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.SentAt.IsZero() || stored.Sealed != nil || stored.Attempts != 1 {
		t.Errorf("after delivery the outbox holds %+v", stored)
	}
	if v := r.metric("rampart_mail_sent_total", "password_reset"); v != 1 {
		t.Errorf("rampart_mail_sent_total = %v, want 1", v)
	}
	if v := r.metric("rampart_mail_outbox_backlog", ""); v != 0 {
		t.Errorf("backlog = %v, want 0", v)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	r := newRig(t)
	srv := smtptest.Start(t, smtptest.Options{Implicit: true, User: "rampart", Password: password})
	r.enqueue()
	r.sender(smtpTransport(t, srv, mail.ImplicitTLS, "rampart", password), nil).Pass(t.Context())
	got := srv.Wait(t, 1, 5*time.Second)
	if !got[0].TLS || got[0].User != "rampart" {
		t.Errorf("received over TLS=%v as %q", got[0].TLS, got[0].User)
	}
}

// TestRefusedForAWhileThenDelivered: a server that refuses (temporarily,
// permanently, or is down) for a while gets the message once it accepts,
// after retries that are counted.
func TestRefusedForAWhileThenDelivered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse func(*smtptest.Server) (restore func())
	}{
		{"451", func(s *smtptest.Server) func() { s.Refuse(451); return s.Accept }},
		{"550", func(s *smtptest.Server) func() { s.Refuse(550); return s.Accept }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			srv := smtptest.Start(t, smtptest.Options{})
			restore := tc.refuse(srv)
			id := r.enqueue()
			s := r.sender(smtpTransport(t, srv, mail.LoopbackPlain, "", ""), nil)
			for range 3 {
				waitDue(t, r.store, id)
				s.Pass(t.Context())
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("delivered %d while refusing", n)
			}
			stored, _ := r.store.GetMail(t.Context(), id)
			if !strings.Contains(stored.LastError, tc.name) || stored.Sealed == nil {
				t.Errorf("while refused the outbox holds %+v, want the code in its reason and the content kept", stored)
			}
			restore()
			waitDue(t, r.store, id)
			s.Pass(t.Context())
			srv.Wait(t, 1, 5*time.Second)
			stored, _ = r.store.GetMail(t.Context(), id)
			if stored.Attempts != 4 || stored.SentAt.IsZero() {
				t.Errorf("after delivery: %d attempts, sent at %v; want 4 and a time", stored.Attempts, stored.SentAt)
			}
			if v := r.metric("rampart_mail_retries_total", "password_reset"); v != 3 {
				t.Errorf("rampart_mail_retries_total = %v, want 3", v)
			}
			if srv.Attempts() != 4 {
				t.Errorf("the server saw %d attempts, want 4", srv.Attempts())
			}
		})
	}
	t.Run("down", func(t *testing.T) {
		r := newRig(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		id := r.enqueue()
		down, err := mail.NewSMTP(mail.SMTPConfig{Endpoint: endpoint(t, addr, mail.LoopbackPlain, "", ""), Dial: dial})
		if err != nil {
			t.Fatal(err)
		}
		r.sender(down, nil).Pass(t.Context())
		stored, _ := r.store.GetMail(t.Context(), id)
		if stored.LastError != "connection failed" || stored.Attempts != 1 {
			t.Errorf("after a refused connection the outbox holds %+v", stored)
		}
		// A new sender (a restarted server) with a server that answers.
		srv := smtptest.Start(t, smtptest.Options{})
		waitDue(t, r.store, id)
		r2 := *r
		r2.reg = prometheus.NewRegistry()
		r2.sender(smtpTransport(t, srv, mail.LoopbackPlain, "", ""), nil).Pass(t.Context())
		_, token := readLink(t, srv.Wait(t, 1, 5*time.Second)[0].Data)
		if token != canary {
			t.Errorf("token %q", token)
		}
	})
}

// waitDue waits until the message's next attempt is due.
func waitDue(t *testing.T, st rampart.Store, id string) {
	t.Helper()
	m, err := st.GetMail(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(m.NextAttemptAt) + time.Millisecond)
}

// TestGivenUpAfterMaxAttempts: a delivery that keeps failing ends as
// failed, with an error log line, a delivery_failure event and the metric,
// and its content erased.
func TestGivenUpAfterMaxAttempts(t *testing.T) {
	r := newRig(t)
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Refuse(554)
	id := r.enqueue()
	s := r.sender(smtpTransport(t, srv, mail.LoopbackPlain, "", ""), func(c *mail.Config) { c.MaxAttempts = 3 })
	for range 5 {
		waitDue(t, r.store, id)
		s.Pass(t.Context())
	}
	stored, _ := r.store.GetMail(t.Context(), id)
	if stored.FailedAt.IsZero() || stored.Sealed != nil || stored.Attempts != 3 {
		t.Errorf("after giving up the outbox holds %+v, want failed after 3 attempts, content erased", stored)
	}
	if srv.Attempts() != 3 {
		t.Errorf("the server saw %d attempts, want 3", srv.Attempts())
	}
	if v := r.metric("rampart_mail_failed_total", "password_reset"); v != 1 {
		t.Errorf("rampart_mail_failed_total = %v, want 1", v)
	}
	if v := r.metric("rampart_mail_retries_total", "password_reset"); v != 2 {
		t.Errorf("rampart_mail_retries_total = %v, want 2", v)
	}
	ev := r.events.all()
	if len(ev) != 1 || ev[0].Type != rampart.EventDeliveryFailure {
		t.Errorf("events %+v, want one delivery_failure", ev)
	}
	if !strings.Contains(r.logs.String(), `"msg":"mail delivery failed for good"`) {
		t.Errorf("no error line for the failure:\n%s", r.logs.String())
	}
}

// TestALeaseOutlivesItsSender: a sender that died holding a message (claimed,
// never settled) leaves it to another once the lease ends.
func TestALeaseOutlivesItsSender(t *testing.T) {
	r := newRig(t)
	id := r.enqueue()
	if _, err := r.store.ClaimMail(t.Context(), time.Now(), 200*time.Millisecond, 1); err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, smtptest.Options{})
	s := r.sender(smtpTransport(t, srv, mail.LoopbackPlain, "", ""), nil)
	if n := s.Pass(t.Context()); n != 0 {
		t.Fatalf("claimed a leased message")
	}
	time.Sleep(250 * time.Millisecond)
	s.Pass(t.Context())
	srv.Wait(t, 1, 5*time.Second)
	stored, _ := r.store.GetMail(t.Context(), id)
	if stored.Attempts != 2 || stored.SentAt.IsZero() {
		t.Errorf("after the lease: %+v", stored)
	}
}

// TestRunWakesOnNotify: Run delivers at once when notified, long before its
// poll, and returns when its context ends.
func TestRunWakesOnNotify(t *testing.T) {
	r := newRig(t)
	srv := smtptest.Start(t, smtptest.Options{})
	s := r.sender(smtpTransport(t, srv, mail.LoopbackPlain, "", ""), func(c *mail.Config) { c.Poll = time.Hour })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(50 * time.Millisecond) // the first pass found nothing
	r.enqueue()
	s.Notify()
	srv.Wait(t, 1, 2*time.Second)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestSTARTTLSIsRequiredOffLoopback: the URL decides the protection, and
// smtp:// to anything but loopback demands STARTTLS.
func TestSTARTTLSIsRequiredOffLoopback(t *testing.T) {
	for raw, want := range map[string]mail.Security{
		"smtp://mail.example.com":            mail.StartTLS,
		"smtp://u:p@mail.example.com:25":     mail.StartTLS,
		"smtp://10.0.0.5:2525":               mail.StartTLS,
		"smtp://127.0.0.1.nip.io:25":         mail.StartTLS,
		"smtp://localhost.example.com":       mail.StartTLS,
		"smtps://mail.example.com":           mail.ImplicitTLS,
		"smtps://127.0.0.1":                  mail.ImplicitTLS,
		"smtp://localhost:1025":              mail.LoopbackPlain,
		"smtp://127.0.0.1:1025":              mail.LoopbackPlain,
		"smtp://127.8.9.10":                  mail.LoopbackPlain,
		"smtp://[::1]:25":                    mail.LoopbackPlain,
		"smtp://user:" + password + "@[::1]": mail.LoopbackPlain,
	} {
		e, err := mail.ParseSMTPURL(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
		} else if e.Security != want {
			t.Errorf("%s: %v, want %v", raw, e.Security, want)
		}
	}
	for _, raw := range []string{"http://mail.example.com", "smtp://", "smtp:mail.example.com", "smtp://mail.example.com:0",
		"smtp://mail.example.com/path", "smtp://mail.example.com?tls=off", "smtp://u:" + password + "@mail.example.com:99999",
		"smtp+insecure://mail.example.com", "lmtp://mail.example.com"} {
		_, err := mail.ParseSMTPURL(raw)
		if err == nil {
			t.Errorf("%s: accepted", raw)
		} else if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "example.com") {
			t.Errorf("%s: the error repeats the URL: %v", raw, err)
		}
	}
	e, _ := mail.ParseSMTPURL("smtps://u:" + password + "@mail.example.com")
	if strings.Contains(e.String(), password) || e.Port != 465 {
		t.Errorf("String %q, port %d", e.String(), e.Port)
	}

	// Against a real server that offers no STARTTLS: nothing is sent, not
	// even the envelope, and the reason says why.
	r := newRig(t)
	plain := smtptest.Start(t, smtptest.Options{})
	id := r.enqueue()
	r.sender(smtpTransport(t, plain, mail.StartTLS, "rampart", password), nil).Pass(t.Context())
	stored, _ := r.store.GetMail(t.Context(), id)
	if stored.LastError != "server does not offer STARTTLS" || plain.Attempts() != 0 || len(plain.Messages()) != 0 {
		t.Errorf("STARTTLS required of a server without it: reason %q, %d RCPT seen", stored.LastError, plain.Attempts())
	}
	// And one whose certificate is not trusted.
	untrusted := smtptest.Start(t, smtptest.Options{TLS: true})
	tr, err := mail.NewSMTP(mail.SMTPConfig{Endpoint: endpoint(t, untrusted.Addr, mail.StartTLS, "", ""), Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Deliver(t.Context(), mail.Message{ID: "x", Kind: rampart.MailNotice, From: "a@rampart.example", To: to, Subject: "s", Body: "b", Date: time.Now()})
	if mail.Reason(err) != "server certificate not trusted" || untrusted.Attempts() != 0 {
		t.Errorf("an untrusted certificate: %q (%v), %d RCPT seen", mail.Reason(err), err, untrusted.Attempts())
	}
}

// TestFilesTransport: development mail is one RFC 5322 file per message,
// private to the owner; the log names the file, not the link.
func TestFilesTransport(t *testing.T) {
	r := newRig(t)
	dir := filepath.Join(t.TempDir(), "mail")
	id := r.enqueue()
	r.sender(mail.Files{Dir: dir, Logger: r.logger}, nil).Pass(t.Context())
	path := filepath.Join(dir, id+".eml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, token := readLink(t, raw)
	if token != canary {
		t.Errorf("token %q", token)
	}
	for h, want := range map[string]string{"From": `"Rampart" <no-reply@rampart.example>`, "To": "<" + to + ">",
		"Subject": "Reset your Rampart password", "Message-Id": "<" + id + "@rampart.example>"} {
		if got := msg.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if ct := msg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if !strings.Contains(r.logs.String(), path) {
		t.Errorf("the log does not name the file:\n%s", r.logs.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the mail directory, want 1", len(entries))
	}
}

// TestAMessageThatDoesNotOpenIsGivenUpAtOnce: sealed under another master
// key, no retry can help: failed on the first attempt, nothing sent, the
// event recorded.
func TestAMessageThatDoesNotOpenIsGivenUpAtOnce(t *testing.T) {
	r := newRig(t)
	id := r.enqueue()
	other := make([]byte, 32)
	rand.Read(other)
	box, err := seal.New(other)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, smtptest.Options{})
	r.box = box
	r.sender(smtpTransport(t, srv, mail.LoopbackPlain, "", ""), nil).Pass(t.Context())
	stored, _ := r.store.GetMail(t.Context(), id)
	if stored.FailedAt.IsZero() || stored.Attempts != 1 || srv.Attempts() != 0 {
		t.Errorf("a message that does not open: %+v, %d RCPT seen", stored, srv.Attempts())
	}
	if ev := r.events.all(); len(ev) != 1 || ev[0].Type != rampart.EventDeliveryFailure {
		t.Errorf("events %+v", ev)
	}
}
