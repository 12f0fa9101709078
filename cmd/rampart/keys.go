package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"example.com/rampart/internal/app"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/token"
)

// keyRotationsChannel (after RAMPART_REDIS_PREFIX) carries the id of each
// new signing key from `rampart keys rotate` to the running replicas.
const keyRotationsChannel = "key-rotations"

// keysRotate is `rampart keys rotate`: a new signing key starts signing and
// the old one only verifies until the tokens it signed have expired, so
// nobody is logged out. It prints the new key's id and by when every
// running replica signs with it: at once where Redis carries the news,
// within token.RefreshEvery by their poll in any case.
func keysRotate(ctx context.Context, environ []string, stdout, stderr io.Writer) error {
	cfg, st, _, tokens, err := keyedStore(ctx, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	if err := tokens.Rotate(ctx, now); err != nil {
		return err
	}
	kid := tokens.ActiveKID()
	fmt.Fprintf(stdout, "new signing key %s\n", kid)
	fmt.Fprintf(stdout, "running replicas sign with it by %s (they reload the keys every %v)",
		now.Add(token.RefreshEvery).UTC().Format(time.RFC3339), token.RefreshEvery)
	if cfg.RedisURL != "" {
		if err := publishRotation(ctx, cfg, kid); err != nil {
			fmt.Fprintf(stdout, "; Redis did not take the notification (%v), so they find it by that reload", err)
		} else {
			fmt.Fprint(stdout, "; those reached through Redis, now")
		}
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "the previous key verifies the tokens it signed until they expire")
	recordCLIEvent(stderr, rampart.SecurityEvent{Type: rampart.EventKeyRotation, Time: now, Detail: "signing key rotated by an operator"})
	return nil
}

func publishRotation(ctx context.Context, cfg Config, kid string) error {
	client, err := newRedisClient(cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	return client.Publish(ctx, cfg.RedisPrefix+keyRotationsChannel, kid).Err()
}

// followKeyRotations reloads the signing keys whenever `rampart keys
// rotate` announces a new one, until ctx ends. go-redis resubscribes by
// itself after a lost connection; a notice missed meanwhile is made up by
// the poll (refreshKeys).
func followKeyRotations(ctx context.Context, client *redis.Client, channel string, parts *app.App, logger *slog.Logger) {
	tokens := parts.Tokens
	sub := client.Subscribe(ctx, channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		logger.Warn("signing keys: cannot subscribe to rotations through Redis yet; polling meanwhile", slog.String("error", err.Error()))
	} else {
		logger.Info("signing keys: following rotations through Redis", slog.String("channel", channel))
	}
	notices := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-notices:
			if !ok {
				return
			}
			if err := reloadKeys(ctx, parts); err != nil {
				logger.Warn("signing keys: reload after a rotation", slog.String("error", err.Error()))
				continue
			}
			logger.Info("signing keys: reloaded after a rotation", slog.String("announced", msg.Payload), slog.String("signing", tokens.ActiveKID()))
		}
	}
}

// reloadKeys reloads the signing keys and, when another process rotated
// them (the signing key changed), records a key_rotation security event:
// one per replica and rotation, whichever of the notice and the poll
// brings it first.
func reloadKeys(ctx context.Context, parts *app.App) error {
	before := parts.Tokens.ActiveKID()
	if err := parts.Tokens.Refresh(ctx); err != nil {
		return err
	}
	if after := parts.Tokens.ActiveKID(); after != before && parts.Events != nil {
		parts.Events.Record(ctx, rampart.SecurityEvent{Type: rampart.EventKeyRotation, Time: time.Now(),
			Detail: "signing key rotated elsewhere; this replica signs with the new one"})
	}
	return nil
}

// masterKey decodes RAMPART_MASTER_KEY for serve and for `keys rotate`.
func masterKey(cfg Config) ([]byte, error) {
	master, err := decodeMasterKey(cfg.MasterKey.Reveal())
	if err != nil {
		return nil, errors.New("RAMPART_MASTER_KEY: not a usable key")
	}
	return master, nil
}
