package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"example.com/rampart/internal/egress"
)

// Security is how an SMTP connection is protected.
type Security int

const (
	// StartTLS: plain connect, then STARTTLS, which must succeed with a
	// verified certificate; a server that does not offer it is refused
	// before anything is sent (smtp:// to any host but loopback).
	StartTLS Security = iota
	// ImplicitTLS: TLS from the first byte, verified (smtps://).
	ImplicitTLS
	// LoopbackPlain: no TLS, for a relay on this machine only (smtp:// to
	// localhost or a loopback address): nothing crosses a network.
	LoopbackPlain
)

func (s Security) String() string {
	return [...]string{"STARTTLS required", "implicit TLS", "loopback, no TLS"}[s]
}

// Endpoint is a parsed RAMPART_SMTP_URL.
type Endpoint struct {
	Host     string
	Port     uint16
	Security Security
	User     string // empty: no authentication
	Password string
}

// ParseSMTPURL reads smtp://[user[:password]@]host[:port] (port 587 by
// default) or smtps://... (465). Its errors never quote the URL: it holds
// credentials. The security follows from the URL alone, and there is no way
// to ask for less: smtp:// to anything but a loopback host always demands
// STARTTLS.
func ParseSMTPURL(raw string) (Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Hostname() == "" {
		return Endpoint{}, errors.New("must be smtp://[user[:password]@]host[:port] or smtps://[user[:password]@]host[:port]")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, errors.New("must have no path, query or fragment")
	}
	var e Endpoint
	defaultPort := ""
	switch u.Scheme {
	case "smtp":
		e.Security, defaultPort = StartTLS, "587"
		if egress.IsLoopbackHost(u.Hostname()) {
			e.Security = LoopbackPlain
		}
	case "smtps":
		e.Security, defaultPort = ImplicitTLS, "465"
	default:
		return Endpoint{}, errors.New("the scheme must be smtp (STARTTLS) or smtps (implicit TLS)")
	}
	port := u.Port()
	if port == "" {
		port = defaultPort
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return Endpoint{}, errors.New("the port must be a number from 1 to 65535")
	}
	e.Host, e.Port = u.Hostname(), uint16(p)
	if u.User != nil {
		e.User = u.User.Username()
		e.Password, _ = u.User.Password()
	}
	return e, nil
}

// String shows e without credentials.
func (e Endpoint) String() string {
	return "smtp " + net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))) + " (" + e.Security.String() + ")"
}

// DialFunc dials an outbound connection (egress.Dialer.DialContext).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// SMTP is the transport to a real server, through go-mail.
type SMTP struct {
	endpoint Endpoint
	client   *gomail.Client
}

// SMTPConfig configures NewSMTP.
type SMTPConfig struct {
	Endpoint Endpoint
	Dial     DialFunc      // required: every connection goes through the egress allowlist
	Timeout  time.Duration // per connection; 0: 30 s
	// RootCAs, when set, replaces the system roots (tests).
	TLSConfig *tls.Config
	HELO      string // 0: "localhost"
}

// NewSMTP returns the transport of cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Dial == nil {
		return nil, errors.New("mail: an SMTP transport needs a dialer")
	}
	e := cfg.Endpoint
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	}
	tc.ServerName = e.Host
	tc.InsecureSkipVerify = false
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dial := cfg.Dial
	opts := []gomail.Option{gomail.WithPort(int(e.Port)), gomail.WithTimeout(timeout), gomail.WithTLSConfig(tc)}
	switch e.Security {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case LoopbackPlain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case ImplicitTLS:
		// go-mail wraps TLS itself only around its own dialer; ours is the
		// egress dialer, so the handshake happens here.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		plain := dial
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := plain(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			c := tls.Client(conn, tc)
			if err := c.HandshakeContext(ctx); err != nil {
				_ = conn.Close() // the handshake's error is the one to report
				return nil, err
			}
			return c, nil
		}
	}
	opts = append(opts, gomail.WithDialContextFunc(gomail.DialContextFunc(dial)))
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if e.User != "" {
		// Over STARTTLS go-mail discovers the best mechanism the server
		// offers. Over implicit TLS it does not know the connection is
		// encrypted (our dialer did the handshake), so it is told PLAIN,
		// which its client still refuses on a connection without TLS.
		auth := gomail.SMTPAuthAutoDiscover
		if e.Security == ImplicitTLS {
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(e.User), gomail.WithPassword(e.Password))
	}
	client, err := gomail.NewClient(e.Host, opts...)
	if err != nil {
		return nil, errors.New("mail: the SMTP settings are not usable")
	}
	return &SMTP{endpoint: e, client: client}, nil
}

func (s *SMTP) String() string { return s.endpoint.String() }

// Deliver sends m in one connection. A failure to close the connection
// after the server accepted the message is not a failure of the delivery
// (retrying would send it twice).
func (s *SMTP) Deliver(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return err
	}
	err = s.client.SendWithSMTPClient(c, msg)
	_ = s.client.CloseWithSMTPClient(c)
	return err
}
