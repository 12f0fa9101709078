package rampart

import (
	"context"
	"time"
)

// Housekeeping: what is kept of sessions, link tokens and the mail
// outbox's settled rows once they are over, and for how long. Without it
// nothing would ever delete them, and a password reset for an unknown
// address stores a decoy link and queues a mail (see RequestPasswordReset),
// so an anonymous client could grow both tables at the reset rate limit for
// ever.

// PurgeRetention is how long a session or a link token is kept after it
// expired. Until then it answers exactly as it did at expiry: a refresh
// token of an expired (or revoked) session gets "the session has ended;
// sign in again" rather than "not valid", a person revoking one of their
// ended sessions by id is not told it never existed, and a spent link gets
// the one answer of every dead link (which an unknown one gets as well, so
// for links the retention is only a margin). A week also covers a server
// that was down over a weekend. After it, the record is gone and its
// tokens are unknown, which a client cannot tell from any invalid token.
// A mail outbox row that was sent or given up on (no content, only its id,
// kind, times and reason) is kept as long, for investigation.
const PurgeRetention = 7 * 24 * time.Hour

// MaxPurgeBatch is the most rows one PurgeSessions, PurgeLinkTokens or
// PurgeMail call deletes: a large backlog (a first run after an attack, or
// after an upgrade) is deleted in many short statements instead of one that
// holds its locks, and the SQLite store's single writer, for long.
const MaxPurgeBatch = 1000

// Purged counts what one Housekeeping run deleted.
type Purged struct {
	Sessions   int
	LinkTokens int
	Mail       int // settled mail outbox rows
}

// Housekeeping deletes the sessions whose absolute expiry, and the link
// tokens whose expiry, lies more than PurgeRetention in the past. Idle
// expiry is not the cut-off: it moves with use and a session is bounded by
// its absolute expiry anyway (IdentityConfig.SessionMax). A link that was
// used or revoked goes with its expiry, at most its TTL (InvitationTTL at
// the longest) later than its spending: a dead link answers like an unknown
// one, and one index on the expiry serves the purge. A mail outbox row goes
// when it was sent or given up on more than PurgeRetention ago; a pending
// message never. The deletes are
// idempotent, so every replica may run this; what one deleted the others
// simply do not find. On an error it returns what it deleted so far.
func (s *Identity) Housekeeping(ctx context.Context) (Purged, error) {
	before := s.now().Add(-PurgeRetention)
	var p Purged
	var err error
	if p.Sessions, err = purgeInBatches(ctx, before, MaxPurgeBatch, s.store.PurgeSessions); err != nil {
		return p, err
	}
	if p.LinkTokens, err = purgeInBatches(ctx, before, MaxPurgeBatch, s.store.PurgeLinkTokens); err != nil {
		return p, err
	}
	p.Mail, err = purgeInBatches(ctx, before, MaxPurgeBatch, s.store.PurgeMail)
	return p, err
}

// purgeInBatches calls purge with batch until it deletes fewer than batch
// rows, and returns how many it deleted in all. Each call is its own short
// statement, so other writers get their turn between batches.
func purgeInBatches(ctx context.Context, before time.Time, batch int,
	purge func(ctx context.Context, before time.Time, limit int) (int, error)) (int, error) {
	total := 0
	for {
		n, err := purge(ctx, before, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}
