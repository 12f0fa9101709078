// Package smtptest runs a real SMTP server in-process for tests
// (github.com/emersion/go-smtp): it records what it receives, can refuse
// for a while, stall a delivery, offer STARTTLS with a throw-away
// certificate for 127.0.0.1, and demand a password.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the server accepted.
type Received struct {
	From string
	To   []string
	Data []byte
	TLS  bool // the session was encrypted
	User string
}

// Options configure Start.
type Options struct {
	TLS      bool   // offer STARTTLS with a certificate for 127.0.0.1 (see Server.RootCAs)
	Implicit bool   // TLS from the first byte (smtps)
	User     string // when set, AUTH PLAIN with User and Password is required
	Password string
}

// Server is a running test server.
type Server struct {
	Addr    string
	RootCAs *x509.CertPool // trusts the server's certificate when TLS is on

	srv  *smtp.Server
	opts Options
	mu   sync.Mutex
	got  []Received
	// refuse, when not nil, is answered to every RCPT TO.
	refuse   *smtp.SMTPError
	attempts int           // RCPT TO commands seen
	stall    chan struct{} // when not nil, DATA waits until it is closed
	inData   chan struct{} // receives once per DATA that began
	changed  chan struct{}
}

// Start starts a server on 127.0.0.1 and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, changed: make(chan struct{}, 1), inData: make(chan struct{}, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.AllowInsecureAuth = !opts.TLS && !opts.Implicit
	if opts.TLS || opts.Implicit {
		cert, pool := certificate(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.RootCAs = pool
	}
	var ln net.Listener
	var err error
	if opts.Implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Addr, s.srv = ln.Addr().String(), srv
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		s.Release()
		_ = srv.Close()
	})
	return s
}

// Refuse makes every RCPT TO answer code (4xx or 5xx) until Accept.
func (s *Server) Refuse(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	enh := smtp.EnhancedCode{code / 100, 0, 0}
	s.refuse = &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "refused for the test"}
}

// Accept ends Refuse.
func (s *Server) Accept() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = nil
}

// Stall makes DATA wait until Release (or the server stops).
func (s *Server) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = make(chan struct{})
}

// Release ends Stall.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
}

// InData receives once for every DATA command that began.
func (s *Server) InData() <-chan struct{} { return s.inData }

// Attempts is the number of RCPT TO commands seen, refused ones included.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Wait waits until n messages were accepted, failing t after timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := s.Messages(); len(got) >= n {
			return got
		}
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("the SMTP server received %d messages in %v, want %d (%d RCPT TO seen)", len(s.Messages()), timeout, n, s.Attempts())
		}
	}
}

type session struct {
	s    *Server
	conn *smtp.Conn
	cur  Received
	user string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.User || password != ss.s.opts.Password {
			return errors.New("invalid credentials")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.cur = Received{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.attempts++
	if ss.s.refuse != nil {
		return ss.s.refuse
	}
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	select {
	case ss.s.inData <- struct{}{}:
	default:
	}
	ss.s.mu.Lock()
	stall := ss.s.stall
	ss.s.mu.Unlock()
	if stall != nil {
		<-stall
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 0, 0}, Message: "stalled, then dropped"}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.cur.Data, ss.cur.TLS, ss.cur.User = b, isTLS, ss.user
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, ss.cur)
	ss.s.mu.Unlock()
	select {
	case ss.s.changed <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.cur = Received{} }
func (ss *session) Logout() error { return nil }

// certificate makes a throw-away self-signed certificate for 127.0.0.1 and
// a pool that trusts it.
func certificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
