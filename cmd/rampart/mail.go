package main

// Mail: the outbox's transport and the variables that choose it.

import (
	"context"
	"errors"
	"log/slog"
	netmail "net/mail"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/egress"
	"example.com/rampart/internal/mail"
	"example.com/rampart/internal/rampart"
)

// devPublicURL is where links point outside production when
// RAMPART_PUBLIC_URL is not set: the default listener.
const devPublicURL = "http://127.0.0.1:8080"

// devMailFrom is the From of development's .eml files when
// RAMPART_MAIL_FROM is not set.
const devMailFrom = "rampart@localhost"

// mailVariables are the RAMPART_SMTP_URL, RAMPART_MAIL_FROM and
// RAMPART_PUBLIC_URL rows.
func mailVariables() []variable {
	return []variable{
		{Name: "RAMPART_SMTP_URL", Secret: true, DefaultDoc: "— (mail is written as `.eml` files under `mail/` in the data directory)",
			Doc: "`smtp://[user:password@]host[:port]` (port 587, STARTTLS required unless the host is `localhost` or a loopback address) or `smtps://...` (465, implicit TLS)", codec: codec{
				set: func(c *Config, v string, bad func(string)) {
					if _, err := mail.ParseSMTPURL(v); err != nil {
						bad(err.Error())
						return
					}
					c.SMTPURL = Secret(v)
				},
				show: func(c Config) string { return maskURL(c.SMTPURL.Reveal()) },
			}},
		{Name: "RAMPART_MAIL_FROM", DefaultDoc: "— (`rampart@localhost` for `.eml` files)", Doc: "the From of every message, `addr@example.com` or `Name <addr@example.com>`; required with `RAMPART_SMTP_URL`", codec: codec{
			set: func(c *Config, v string, bad func(string)) {
				a, err := netmail.ParseAddress(v)
				if err != nil || strings.ContainsAny(v, "\r\n") || !strings.Contains(a.Address, "@") {
					bad("must be one address, optionally with a name: Name <addr@example.com>")
					return
				}
				c.MailFrom = a.String()
			},
			show: func(c Config) string { return c.MailFrom },
		}},
		{Name: "RAMPART_PUBLIC_URL", DefaultDoc: "`" + devPublicURL + "` outside production; none in production",
			Doc: "the base URL of the links that mail carries (`https://id.example.com`); must be https in production, and is required there with `RAMPART_SMTP_URL`",
			derive: func(c *Config, _ map[string]string, _ func(string)) {
				if c.Env != envProduction {
					c.PublicURL = devPublicURL
				}
			},
			codec: codec{
				set: func(c *Config, v string, bad func(string)) {
					u, msg := checkHTTPURL(v, c.Env)
					if msg == "" && (u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, " \r\n")) {
						msg = "must be an absolute http or https URL without user, query or fragment"
					}
					if msg != "" {
						bad(msg)
						return
					}
					c.PublicURL = strings.TrimRight(v, "/")
				},
				show: func(c Config) string { return c.PublicURL },
			}},
	}
}

// mailProblems reports the mail settings that cannot work together, in any
// environment: SMTP needs a From address, and links need somewhere to point.
func (c Config) mailProblems(p *problems) {
	if c.SMTPURL == "" || p.named["RAMPART_SMTP_URL"] {
		return
	}
	if c.MailFrom == "" && !p.named["RAMPART_MAIL_FROM"] {
		p.add("RAMPART_MAIL_FROM", "required with RAMPART_SMTP_URL")
	}
	if c.PublicURL == "" && !p.named["RAMPART_PUBLIC_URL"] {
		p.add("RAMPART_PUBLIC_URL", "required with RAMPART_SMTP_URL: the links in the mail point there")
	}
}

// checkPublicURL is the production rule public_url: links must be https,
// or a stolen link travels in the clear.
func (c Config) checkPublicURL() (bool, string) {
	switch {
	case c.PublicURL == "" && c.SMTPURL != "":
		return false, "not set while RAMPART_SMTP_URL is; the links in the mail need it"
	case c.PublicURL == "":
		return true, "not set (no SMTP transport either)"
	case !strings.HasPrefix(c.PublicURL, "https://"):
		return false, "must be https"
	}
	return true, "https"
}

// checkMailTransport is the production rule mail_transport: SMTP off this
// machine is always encrypted (the URL cannot ask for less, see
// mail.ParseSMTPURL), so only a URL that does not parse fails it.
func (c Config) checkMailTransport() (bool, string) {
	if c.SMTPURL == "" {
		return true, "not set; mail is written as .eml files in " + c.mailDir()
	}
	e, err := mail.ParseSMTPURL(c.SMTPURL.Reveal())
	if err != nil {
		return false, err.Error()
	}
	return true, e.String()
}

// mailDir is where development mail goes.
func (c Config) mailDir() string { return filepath.Join(c.DataDir, "mail") }

// mailMode says where mail goes, for config check and the start-up log.
func (c Config) mailMode() string {
	if c.SMTPURL != "" {
		if e, err := mail.ParseSMTPURL(c.SMTPURL.Reveal()); err == nil {
			return e.String()
		}
		return "smtp (unusable URL)"
	}
	return "eml files in " + c.mailDir()
}

// smtpRule allows the SMTP server's host and port outbound.
func smtpRule(raw string) (egress.Rule, error) {
	e, err := mail.ParseSMTPURL(raw)
	if err != nil {
		return egress.Rule{}, err
	}
	return egress.HostRule(e.Host, e.Port)
}

// newMailSender builds the outbox's sender for serve: SMTP through the
// egress dialer, or .eml files in the data directory.
func newMailSender(cfg Config, st rampart.Store, sealer rampart.Sealer, wake *mail.Notifier, events rampart.SecurityEvents,
	reg prometheus.Registerer, logger *slog.Logger,
) (*mail.Sender, error) {
	var tr mail.Transport
	from := cfg.MailFrom
	if cfg.SMTPURL != "" {
		e, err := mail.ParseSMTPURL(cfg.SMTPURL.Reveal())
		if err != nil {
			return nil, errors.New("RAMPART_SMTP_URL: " + err.Error())
		}
		dialer, err := cfg.outbound()
		if err != nil {
			return nil, err
		}
		if tr, err = mail.NewSMTP(mail.SMTPConfig{Endpoint: e, Dial: dialer.DialContext}); err != nil {
			return nil, err
		}
	} else {
		tr = mail.Files{Dir: cfg.mailDir(), Logger: logger}
		if from == "" {
			from = devMailFrom
		}
		if cfg.Env == envProduction {
			logger.Warn("no RAMPART_SMTP_URL: mail is written as .eml files and reaches nobody", slog.String("dir", cfg.mailDir()))
		}
	}
	logger.Info("mail", slog.String("transport", tr.String()))
	return mail.New(mail.Config{Store: st, Sealer: sealer, Transport: tr, From: from, Wake: wake, Events: events,
		Logger: logger, Registry: reg})
}

// runSender runs s until ctx ends and closes the returned channel when it
// has stopped.
func runSender(ctx context.Context, s *mail.Sender) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	return done
}
