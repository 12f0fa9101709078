package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/egress"
	"example.com/rampart/internal/postgres"
)

// egressRules is the outbound allowlist of cfg: the database and Redis it
// names, then RAMPART_EGRESS_ALLOW. Errors never quote the URLs: they hold
// credentials.
func egressRules(cfg Config) ([]egress.Rule, error) {
	var rules []egress.Rule
	if _, sqlite := cfg.SQLitePath(); !sqlite && cfg.DatabaseURL != "" {
		hosts, ports, err := postgres.Destinations(cfg.DatabaseURL.Reveal())
		if err != nil {
			return nil, errors.New("RAMPART_DATABASE_URL: no host and port to allow outbound")
		}
		for i, host := range hosts {
			rule, err := egress.HostRule(host, ports[i])
			if err != nil {
				return nil, errors.New("RAMPART_DATABASE_URL: the host is not a name, an IP address or a socket directory")
			}
			rules = append(rules, rule)
		}
	}
	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL.Reveal())
		if err != nil {
			return nil, errors.New("RAMPART_REDIS_URL: not a usable Redis URL")
		}
		rule, err := redisRule(opts)
		if err != nil {
			return nil, errors.New("RAMPART_REDIS_URL: the host is not a name, an IP address or a socket path")
		}
		rules = append(rules, rule)
	}
	if cfg.AlertWebhookURL != "" {
		rule, err := webhookRule(cfg.AlertWebhookURL.Reveal())
		if err != nil {
			return nil, errors.New("RAMPART_ALERT_WEBHOOK_URL: the host is not a name or an IP address with a usable port")
		}
		rules = append(rules, rule)
	}
	if cfg.SMTPURL != "" {
		rule, err := smtpRule(cfg.SMTPURL.Reveal())
		if err != nil {
			return nil, errors.New("RAMPART_SMTP_URL: the host is not a name or an IP address with a usable port")
		}
		rules = append(rules, rule)
	}
	return append(rules, cfg.EgressAllow...), nil
}

// webhookRule allows the alert webhook's host and port (the scheme's
// default port when the URL names none).
func webhookRule(raw string) (egress.Rule, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return egress.Rule{}, err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return egress.Rule{}, err
	}
	return egress.HostRule(u.Hostname(), uint16(p))
}

func redisRule(opts *redis.Options) (egress.Rule, error) {
	if opts.Network == "unix" {
		return egress.HostRule(opts.Addr, 0)
	}
	host, portText, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return egress.Rule{}, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return egress.Rule{}, err
	}
	return egress.HostRule(host, uint16(port))
}

// newEgress is the dialer of cfg's allowlist, its counters registered in
// reg when reg is not nil.
func newEgress(cfg Config, reg prometheus.Registerer) (*egress.Dialer, error) {
	rules, err := egressRules(cfg)
	if err != nil {
		return nil, err
	}
	return egress.New(egress.Config{Rules: rules, Registerer: reg})
}

// outbound is the dialer every outbound connection of cfg goes through:
// the one serve made (counted on /metrics, refusals recorded), or for the
// operator commands a fresh one with the same allowlist.
func (c Config) outbound() (*egress.Dialer, error) {
	if c.dialer != nil {
		return c.dialer, nil
	}
	return newEgress(c, nil)
}

// redisDialer dials through d and then, for rediss://, negotiates TLS:
// go-redis applies TLSConfig only in its own default dialer.
func redisDialer(d *egress.Dialer, opts *redis.Options) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if opts.DialTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, opts.DialTimeout)
			defer cancel()
		}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil || opts.TLSConfig == nil {
			return conn, err
		}
		tc := tls.Client(conn, opts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}

// joinRules shows rules as RAMPART_EGRESS_ALLOW is written.
func joinRules(rules []egress.Rule) string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.String()
	}
	return strings.Join(out, ",")
}
