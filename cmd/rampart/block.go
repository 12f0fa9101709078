package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/blocklist"
	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/secevents"
)

// blockPrefix (after RAMPART_REDIS_PREFIX) holds the shared block list.
const blockPrefix = "block:"

// blockVariables are RAMPART_AUTO_BLOCK and its settings, after the
// detection rules' variables.
func blockVariables() []variable {
	return []variable{
		{Name: "RAMPART_AUTO_BLOCK", Default: "false",
			Doc:   "a source that a blocking detection rule fires on is refused at the edge (429 `/source-blocked`) for a while that grows on repeat, on every replica when Redis is configured (see \"Automatic blocking\")",
			codec: boolField(func(c *Config) *bool { return &c.AutoBlock })},
		{Name: "RAMPART_BLOCK_EXEMPT", Doc: "comma-separated CIDRs (or addresses) never blocked, whatever fires; the trusted proxies are never blocked either", codec: codec{
			set: func(c *Config, v string, bad func(string)) {
				for i, item := range splitList(v) {
					pfx, msg := parseProxy(item)
					if pfx.IsValid() && pfx.Bits() == 0 {
						msg = "must not exempt every address; set RAMPART_AUTO_BLOCK=false instead"
					}
					if msg != "" {
						bad(fmt.Sprintf("entry %d: %s", i+1, msg))
						continue
					}
					c.BlockExempt = append(c.BlockExempt, pfx)
				}
			},
			show: func(c Config) string { return joinPrefixes(c.BlockExempt) },
		}},
		{Name: "RAMPART_BLOCK_DURATION", Default: "15m", Doc: "how long a source's first block lasts, `1m` to `24h`; each repeat within 24 h lasts 4 times longer, at most 24 h",
			codec: durationField(func(c *Config) *time.Duration { return &c.BlockDuration }, time.Minute, 24*time.Hour, "must be a duration from 1m to 24h, e.g. 15m")},
	}
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// blockPolicy is blocklist.DefaultPolicy starting at RAMPART_BLOCK_DURATION.
func (c Config) blockPolicy() blocklist.Policy {
	p := blocklist.DefaultPolicy
	if c.BlockDuration > 0 {
		p.Base = c.BlockDuration
	}
	return p
}

// blockExempt is every prefix never blocked: RAMPART_BLOCK_EXEMPT and the
// trusted proxies (blocking a proxy would block everyone behind it).
func (c Config) blockExempt() []netip.Prefix {
	return append(append([]netip.Prefix(nil), c.BlockExempt...), c.TrustedProxies...)
}

// blockMode says, for `config check`, what automatic blocking does in this
// configuration.
func (c Config) blockMode() []string {
	if !c.AutoBlock {
		return []string{"automatic blocking: off (RAMPART_AUTO_BLOCK=false): detection alerts, nothing is blocked"}
	}
	p := c.blockPolicy()
	var steps []string
	for n := 1; n <= 6; n++ {
		d := shortDuration(p.Duration(n))
		if len(steps) > 0 && steps[len(steps)-1] == d {
			break
		}
		steps = append(steps, d)
	}
	lines := []string{}
	if c.RedisURL != "" {
		lines = append(lines, "automatic blocking: on, shared: every replica refuses a blocked source within 1 s (Redis); `rampart blocks list|remove` manage the list")
	} else {
		lines = append(lines, "automatic blocking: on, per replica: no RAMPART_REDIS_URL, so each replica blocks only what its own detector saw, and `rampart blocks` cannot reach the list")
	}
	lines = append(lines, "blocking rules: "+strings.Join(blocklist.BlockingRules, ", ")+"; block durations: "+strings.Join(steps, ", ")+
		" (each repeat of a source within "+shortDuration(p.Memory)+")")
	never := "never blocked: RAMPART_BLOCK_EXEMPT=" + orNone(joinPrefixes(c.BlockExempt)) +
		", trusted proxies " + orNone(joinPrefixes(c.TrustedProxies)) + ", and /healthz and /readyz from anyone"
	return append(lines, never)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// blockRedisTimeout bounds the Redis calls of the blocker and the
// detector. They are never on the request path (the edge reads a local
// copy of the blocks; the detector reads the event stream), so they get
// their own client without the request path's 50 ms deadline: reading a
// full list of blocklist.MaxBlocks sources takes about 0.6 s
// (BenchmarkRedisResync), and a detector that gave up after 50 ms on a
// busy machine would count an attack in each replica's memory and alert
// once per replica.
const blockRedisTimeout = 2 * time.Second

// newBackgroundRedisClient is the client of RAMPART_REDIS_URL for work off
// the request path (blocks, detection, operator commands), through the egress dialer like
// every other.
func newBackgroundRedisClient(cfg Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.RedisURL.Reveal())
	if err != nil {
		return nil, errors.New("RAMPART_REDIS_URL: not a usable Redis URL")
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = time.Second, blockRedisTimeout, blockRedisTimeout
	opts.MaxRetries = -1 // the poll is the retry
	dialer, err := cfg.outbound()
	if err != nil {
		return nil, err
	}
	opts.Dialer = redisDialer(dialer, opts)
	return redis.NewClient(opts), nil
}

// newBlocker is serve's blocker: shared through Redis when it is
// configured (client non-nil), in memory otherwise. onPlaced reports each
// block placed.
func newBlocker(cfg Config, client *redis.Client, reg prometheus.Registerer, logger *slog.Logger, onPlaced func(blocklist.Block)) (*blocklist.Blocker, error) {
	bc := blocklist.Config{Policy: cfg.blockPolicy(), Exempt: cfg.blockExempt(), Logger: logger, Registry: reg, OnPlaced: onPlaced,
		CallTimeout: blockRedisTimeout}
	if client != nil {
		bc.Store = blocklist.NewRedis(client, cfg.RedisPrefix+blockPrefix, 0)
	}
	return blocklist.New(bc)
}

// noSharedBlocks explains `rampart blocks` without Redis.
const noSharedBlocks = `rampart: RAMPART_REDIS_URL is not set, so there is no shared block list:
each running replica keeps its blocks in its own memory, which this command cannot see.
A block there ends by itself (RAMPART_BLOCK_DURATION, growing on repeat); restarting the
replica clears its list. Configure Redis to list and remove blocks from here.
`

// blocksCommand is `rampart blocks list` and `rampart blocks remove SOURCE`,
// against the shared list in Redis.
func blocksCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(environ)
	if err != nil {
		fmt.Fprintf(stderr, "rampart: configuration refused:\n%v\n", err)
		return errReported
	}
	if cfg.RedisURL == "" {
		fmt.Fprint(stderr, noSharedBlocks)
		return errReported
	}
	client, err := newBackgroundRedisClient(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "rampart: %v\n", err)
		return errReported
	}
	defer client.Close()
	b, err := newBlocker(cfg, client, nil, logging.New(stderr, slog.LevelWarn), nil)
	if err != nil {
		return err
	}
	if !cfg.AutoBlock {
		fmt.Fprintln(stdout, "note: RAMPART_AUTO_BLOCK is false in this configuration; replicas configured so place no blocks")
	}
	switch args[0] {
	case "list":
		blocks, err := b.List(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "rampart: %v\n", err)
			return errReported
		}
		if len(blocks) == 0 {
			fmt.Fprintln(stdout, "no source is blocked")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tUNTIL\tLEFT\tREPEAT\tRULE")
		now := time.Now()
		for _, blk := range blocks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", blk.Source, blk.Until.UTC().Format(time.RFC3339),
				blk.Until.Sub(now).Round(time.Second), blk.Repeat, blk.Rule)
		}
		return tw.Flush()
	default: // "remove", with its SOURCE (run checks the arity)
		p, err := blocklist.ParseSource(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "rampart: %v\n", err)
			return errReported
		}
		source := blocklist.SourceString(p)
		removed, err := b.Remove(ctx, source)
		if err != nil {
			fmt.Fprintf(stderr, "rampart: %v\n", err)
			return errReported
		}
		if !removed {
			fmt.Fprintf(stderr, "rampart: %s is not blocked (its repeat count, if any, is forgotten)\n", source)
			return errReported
		}
		recordCLIEvent(stderr, rampart.SecurityEvent{Type: rampart.EventAdminAction, Source: p.Addr(),
			Detail: "source block removed by an operator"})
		fmt.Fprintf(stdout, "removed the block of %s and forgot its repeat count; every replica stops refusing it within 1 s\n", source)
		return nil
	}
}

// recordCLIEvent writes a security event of an operator command as the
// server would log it (one JSON line, the same schema) to w, so a log
// shipper reading the command's stderr sees it like the server's.
func recordCLIEvent(w io.Writer, e rampart.SecurityEvent) {
	rec, err := secevents.New(secevents.Config{Logger: logging.New(w, slog.LevelInfo), Registry: prometheus.NewRegistry()})
	if err != nil {
		return
	}
	defer rec.Close()
	rec.Record(context.Background(), e)
}
