package rampart

import (
	"context"
	"time"
)

// Store is the storage contract. Package sqlite and package postgres
// implement it; package storetest checks that both behave alike.
//
// Every method that reads or writes a tenant's data takes the tenant id as
// an explicit parameter, and a record of another tenant is simply not found.
// The only lookups across tenants are by credential (FindAccountByEmail,
// FindSessionByTokenHash, FindAPIKeyByHash), where the credential is what
// tells the tenant, and those of an account (GetAccount, UpdateAccount,
// ListMemberships, RevokeAccountSessions), which is itself above tenants.
//
// Errors are *Error values. Besides the kinds listed for each method, every
// method returns KindUnavailable when the database does not answer in time
// (or ctx ends first) and KindInternal for anything unexpected.
//
// Create and append methods pass every time through Timestamp and leave the
// stored values in their argument, so what is read back equals it.
//
// Update methods read the record and call fn with it inside one transaction
// that holds the record locked, then store what fn left in it, so concurrent
// updates never lose each other's changes. fn must be quick and must not use
// the Store. An error from fn aborts the update and is returned as it is. An
// update never changes a record's id, tenant or creation time.
//
// The rules above that need no database live once in store_rules.go
// (ApplyUpdate, RoundTimes), and both stores call them.
type Store interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database connections.
	Close() error

	// Atomically runs fn in one database transaction: every call fn makes
	// on tx is part of it, and it commits only when fn returns nil. Any
	// error, from fn or from the commit, rolls back everything fn did and
	// is returned. A change and the audit event that records it are
	// written this way, so that neither is ever stored without the other
	// (a crash between two separate writes would leave a change that the
	// audit chain cannot show was made).
	//
	// tx must be used only inside fn, by one goroutine, and only for calls
	// that belong to the unit. Calling Atomically on tx joins the same
	// transaction; Close and Ping on tx do nothing. An error from a tx
	// method undoes that method's own writes; fn should return it, since
	// PostgreSQL refuses further statements after some errors anyway.
	//
	// Why a transactional unit rather than mutation methods that take the
	// event to append: whether there is an event at all, and what it says,
	// often depends on what an update found (a role that really changed, a
	// session that was not yet revoked), which the domain learns only
	// inside the update. With a unit the domain says it plainly (change,
	// then record) and every Store method keeps its one meaning.
	Atomically(ctx context.Context, fn func(tx Store) error) error

	// CreateTenant stores a tenant, with no member: storage only. A
	// tenant's first admin, or its first admin's invitation, comes in the
	// same unit (CreateTenantWithAdmin, CreateTenantInvitation), so that no
	// tenant exists without one. Conflict: the id is taken.
	CreateTenant(ctx context.Context, t *Tenant) error
	// GetTenant returns a tenant. NotFound.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenantIDs returns every tenant's id, oldest first: for operator
	// jobs that walk all tenants, such as verifying the audit chains.
	ListTenantIDs(ctx context.Context) ([]string, error)

	// CreateUser stores a new account (id, email, password, second factor,
	// EmailVerified; LastTenantID u.TenantID; created and updated at
	// u.CreatedAt) with its first membership, in u.TenantID. For an account
	// that exists, see AddMembership. NotFound: no such tenant. Conflict:
	// the id or the email (see EmailKey) is taken. Invalid: unknown role.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns an account as a member of a tenant. NotFound: no such
	// account, or it is not a member of the tenant.
	GetUser(ctx context.Context, tenantID, id string) (*User, error)
	// ListUsers lists a tenant's members, newest membership first.
	// Invalid: bad page.
	ListUsers(ctx context.Context, tenantID string, page Page) ([]*User, Cursor, error)
	// UpdateUser changes a member through fn (see Store). The display name
	// and role are the membership's; the email, password, EmailVerified
	// and second factor are the account's, so changing them changes them
	// in every tenant of the account. NotFound. Conflict: the email is
	// taken, or the tenant would be left without an admin. Invalid: unknown
	// role.
	UpdateUser(ctx context.Context, tenantID, id string, fn func(*User) error) (*User, error)
	// DeleteUser removes an account's membership of a tenant and the
	// account's sessions in that tenant; the account itself goes with its
	// last membership. Its memberships and sessions in other tenants stay.
	// NotFound. Conflict: the member is the tenant's last admin.
	DeleteUser(ctx context.Context, tenantID, id string) error

	// GetAccount returns an account. NotFound.
	GetAccount(ctx context.Context, id string) (*Account, error)
	// FindAccountByEmail returns the account whose email has the same
	// EmailKey. NotFound.
	FindAccountByEmail(ctx context.Context, email string) (*Account, error)
	// UpdateAccount changes an account through fn (see Store; the id and
	// creation time never change), in every tenant at once. NotFound.
	// Conflict: the email is taken.
	UpdateAccount(ctx context.Context, id string, fn func(*Account) error) (*Account, error)
	// ListMemberships returns an account's memberships with their tenants'
	// names, oldest first; none (and no error) for an unknown account.
	ListMemberships(ctx context.Context, accountID string) ([]*Membership, error)
	// AddMembership makes an existing account a member of a tenant.
	// NotFound: no such tenant or account. Conflict: it is a member
	// already. Invalid: unknown role.
	AddMembership(ctx context.Context, m *Membership) error
	// RevokeAccountSessions is RevokeUserSessions across every tenant of
	// the account: for what is account-wide (a password, a second factor).
	RevokeAccountSessions(ctx context.Context, accountID, exceptID string, at time.Time, reason string) error

	// CreateSession stores a session. NotFound: no such user in the tenant.
	// Conflict: the id is taken, or the token hash is or was the token hash
	// of any session still stored.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns a session, revoked and expired ones included.
	// NotFound.
	GetSession(ctx context.Context, tenantID, id string) (*Session, error)
	// FindSessionByTokenHash returns the session whose current TokenHash,
	// or any earlier token hash of the same family, is hash: every hash
	// that UpdateSession replaced, not only PreviousTokenHash. It finds the
	// session whatever its tenant, revoked and expired ones included, so
	// that the caller can recognise the reuse of any token rotated out of
	// the family (RFC 9700 §4.14.2). The caller tells the generations
	// apart: hash is the current token when it equals TokenHash, the
	// previous one when it equals PreviousTokenHash, and an older one
	// otherwise. The earlier hashes last as long as the session, which
	// goes when its user is deleted or PurgeSessions deletes it. NotFound.
	FindSessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)
	// ListActiveSessions lists a user's sessions that are neither revoked
	// nor expired at now, newest first. Invalid: bad page.
	ListActiveSessions(ctx context.Context, tenantID, userID string, now time.Time, page Page) ([]*Session, Cursor, error)
	// UpdateSession changes a session through fn (see Store): rotation and
	// revocation. When fn changes TokenHash, the old hash joins the
	// family's earlier hashes (see FindSessionByTokenHash) in the same
	// transaction. NotFound. Conflict: the new token hash is, or was, the
	// token hash of any session, this one included.
	UpdateSession(ctx context.Context, tenantID, id string, fn func(*Session) error) (*Session, error)
	// MoveSession moves a session to another tenant of its account (a
	// tenant switch) and changes it through fn (see UpdateSession), in one
	// transaction; the session keeps its id and token history, and is no
	// longer found in the tenant it left. NotFound: no such session in
	// tenantID, or its account is not a member of toTenantID.
	MoveSession(ctx context.Context, tenantID, id, toTenantID string, fn func(*Session) error) (*Session, error)
	// PurgeSessions deletes up to limit sessions, of any tenant, whose
	// absolute expiry (ExpiresAt) is before the given time, oldest expiry
	// first, with their earlier token hashes, and returns how many. Idle
	// expiry and revocation do not count. Housekeeping calls it in a loop
	// until it deletes fewer than limit. It checks nothing itself: the caller
	// keeps limit between 1 and MaxPurgeBatch (to SQLite, 0 means no limit).
	PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// RevokeUserSessions revokes, at the given time and for the given
	// reason, every session of a user that is not yet revoked, except the
	// one with id exceptID (none when empty). Revoking no session is not an
	// error.
	RevokeUserSessions(ctx context.Context, tenantID, userID, exceptID string, at time.Time, reason string) error

	// CreateSigningKey stores a signing key. Conflict: the id is taken.
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns every signing key, newest first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// RetireSigningKey stops a key from signing at the given time. A key
	// retires once: retiring it again keeps the first time. NotFound.
	RetireSigningKey(ctx context.Context, id string, at time.Time) error
	// DeleteSigningKey deletes a key. NotFound.
	DeleteSigningKey(ctx context.Context, id string) error

	// CreateAPIKey stores an API key. NotFound: no such tenant. Conflict:
	// the id or hash is taken.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKey returns an API key, revoked and expired ones included.
	// NotFound.
	GetAPIKey(ctx context.Context, tenantID, id string) (*APIKey, error)
	// FindAPIKeyByHash returns the key with this hash, whatever its tenant,
	// revoked and expired ones included. NotFound.
	FindAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// ListAPIKeys lists a tenant's API keys, revoked ones included, newest
	// first. Invalid: bad page.
	ListAPIKeys(ctx context.Context, tenantID string, page Page) ([]*APIKey, Cursor, error)
	// RevokeAPIKey revokes a key at the given time. A key is revoked once:
	// revoking it again keeps the first time. NotFound.
	RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error
	// TouchAPIKey records that a key was used at the given time. NotFound.
	TouchAPIKey(ctx context.Context, tenantID, id string, at time.Time) error

	// CreateOrder stores an order. NotFound: no such tenant. Conflict: the
	// id is taken. Invalid: unknown status.
	CreateOrder(ctx context.Context, o *Order) error
	// GetOrder returns an order. NotFound.
	GetOrder(ctx context.Context, tenantID, id string) (*Order, error)
	// ListOrders lists a tenant's orders, newest first. Invalid: bad page.
	ListOrders(ctx context.Context, tenantID string, f OrderFilter, page Page) ([]*Order, Cursor, error)
	// UpdateOrder changes an order through fn (see Store). NotFound.
	// Invalid: unknown status.
	UpdateOrder(ctx context.Context, tenantID, id string, fn func(*Order) error) (*Order, error)
	// DeleteOrder deletes an order. NotFound.
	DeleteOrder(ctx context.Context, tenantID, id string) error

	// CreateLinkToken stores a link token (see LinkToken), and the EmailKey
	// of its Email. NotFound: no such tenant (an invitation's). Conflict:
	// the id or the hash is taken. Invalid: an unknown purpose, a hash that
	// is not 32 bytes, no password stamp, or an invitation without a
	// tenant or with an unknown role.
	CreateLinkToken(ctx context.Context, l *LinkToken) error
	// RedeemLinkToken marks the token with this hash used at the given
	// time and returns it, in one atomic step, only when it exists, has
	// this purpose, and at that time is unused, unrevoked and unexpired
	// (ExpiresAt after at). Every other case is NotFound, whatever the
	// reason, and changes nothing. Of concurrent calls for one token at
	// most one succeeds.
	RedeemLinkToken(ctx context.Context, hash []byte, purpose LinkPurpose, at time.Time) (*LinkToken, error)
	// ListInvitations lists a tenant's pending invitations (unused,
	// unrevoked and unexpired at now), newest first. Invalid: bad page.
	ListInvitations(ctx context.Context, tenantID string, now time.Time, page Page) ([]*LinkToken, Cursor, error)
	// RevokeInvitation revokes at the given time an invitation of the
	// tenant that is pending at that time (one ListInvitations lists).
	// NotFound: none such, another tenant's included.
	RevokeInvitation(ctx context.Context, tenantID, id string, at time.Time) error
	// RevokeLinkTokens revokes at the given time every unused and
	// unrevoked link token of purpose ("" for every purpose) that is for
	// the account accountID or was sent to the address email (same
	// EmailKey); an empty accountID or email matches nothing. It is for a
	// password change or reset (every link of the account dies, purpose
	// "") and for a new reset request (only the newest reset link works).
	// Revoking none is not an error. Invalid: both accountID and email
	// are empty.
	RevokeLinkTokens(ctx context.Context, purpose LinkPurpose, accountID, email string, at time.Time) error
	// PurgeLinkTokens deletes up to limit link tokens, of every purpose
	// and tenant, whose ExpiresAt is before the given time, used and
	// revoked ones included, oldest expiry first, and returns how many
	// (see Housekeeping). The caller keeps limit as for PurgeSessions.
	PurgeLinkTokens(ctx context.Context, before time.Time, limit int) (int, error)

	// AppendAuditEvent appends e to its tenant's chain: it assigns Seq,
	// PrevHash and Hash (see AuditEvent.Seal) atomically, so concurrent
	// appends leave neither gaps nor duplicates. NotFound: no such tenant.
	// Conflict: the id is taken. Invalid: Details is not a JSON object.
	AppendAuditEvent(ctx context.Context, e *AuditEvent) error
	// ListAuditEvents lists a tenant's audit events, newest first.
	// Invalid: bad page.
	ListAuditEvents(ctx context.Context, tenantID string, f AuditFilter, page Page) ([]*AuditEvent, Cursor, error)
	// ListAuditChain returns up to limit of a tenant's audit events whose
	// Seq is greater than afterSeq, in ascending Seq: the order in which
	// VerifyAuditChain walks the chain. It checks nothing itself, the
	// limit included: the caller keeps it between 1 and MaxAuditBatch
	// (VerifyAuditChain passes MaxAuditBatch).
	ListAuditChain(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*AuditEvent, error)

	// The mail outbox (see OutboxMessage and Outbox). A message is stored
	// in the transaction that stores the token it carries, and a sender
	// claims, delivers and settles it later, at least once.

	// EnqueueMail stores a message to send, due at its NextAttemptAt, with
	// no attempt, claim or outcome (whatever m says of them is stored as
	// zero). Conflict: the id is taken. Invalid: no sealed content.
	EnqueueMail(ctx context.Context, m *OutboxMessage) error
	// ClaimMail hands out up to limit messages that are neither sent nor
	// failed, due at now (NextAttemptAt <= now) and not claimed by a lease
	// that runs past now: the oldest due (by NextAttemptAt, then id) are
	// the ones picked, and the slice holds them in no particular order (a
	// caller that wants an order sorts; the sender claims one at a time). Each is leased until now+lease
	// and its Attempts counts one more, in one transaction: concurrent
	// claims, from any replica, never hand out the same message while its
	// lease runs, and a sender that dies mid-delivery leaves the message to
	// be claimed again when the lease ends. Invalid: see CheckMailClaim.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*OutboxMessage, error)
	// MarkMailSent records a delivery at the given time, ends the claim and
	// erases the sealed content. NotFound: no such message still pending.
	MarkMailSent(ctx context.Context, id string, at time.Time) error
	// RetryMail ends the claim of a message whose attempt failed and makes
	// it due again at next, with the reason. NotFound: no such message
	// still pending.
	RetryMail(ctx context.Context, id string, next time.Time, reason string) error
	// FailMail gives up on a message at the given time, with the reason,
	// ends the claim and erases the sealed content. NotFound: no such
	// message still pending.
	FailMail(ctx context.Context, id string, at time.Time, reason string) error
	// GetMail returns a message, sent and failed ones included. NotFound.
	GetMail(ctx context.Context, id string) (*OutboxMessage, error)
	// CountPendingMail counts the messages neither sent nor failed.
	CountPendingMail(ctx context.Context) (int, error)
	// PurgeMail deletes at most limit messages sent or failed before the
	// given time, the oldest first (their content is already erased; what
	// remains is bookkeeping), and returns how many. Pending messages are
	// never deleted. Housekeeping calls it in batches, as PurgeSessions.
	PurgeMail(ctx context.Context, before time.Time, limit int) (int, error)
}

// MaxPageLimit is the largest page a store returns.
const MaxPageLimit = 100

// Page selects one page of a newest-first listing. Listings are ordered by
// creation time and then id, both descending, and a page starts strictly
// after a position, so paging is stable while records are added: no record
// is listed twice and none that existed when paging began is skipped.
type Page struct {
	Limit int    // 1 to MaxPageLimit
	After Cursor // zero for the first page
}

// Cursor is a position in a listing: the creation time and id of the last
// record of the previous page. A List method returns the zero Cursor when
// there is no next page.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether c is the zero Cursor.
func (c Cursor) IsZero() bool { return c.CreatedAt.IsZero() && c.ID == "" }

// endOfTime is later than any creation time a store holds; listing before it
// starts at the newest record.
var endOfTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Check returns an Invalid error when the page cannot be listed.
func (p Page) Check() error {
	if p.Limit < 1 || p.Limit > MaxPageLimit {
		return Errorf(KindInvalid, "page limit must be between 1 and %d", MaxPageLimit)
	}
	return nil
}

// Before returns the position the page's records come strictly before, in
// the (created_at, id) descending order that stores list in.
func (p Page) Before() Cursor {
	if p.After.IsZero() {
		return Cursor{CreatedAt: endOfTime}
	}
	return Cursor{CreatedAt: Timestamp(p.After.CreatedAt), ID: p.After.ID}
}

// NextPage takes the up to limit+1 records a store fetched for a page and
// returns the page and the cursor of the next one, which is zero when the
// extra record is absent, that is, on the last page.
func NextPage[T any](items []T, limit int, cursor func(T) Cursor) ([]T, Cursor) {
	if len(items) <= limit {
		return items, Cursor{}
	}
	items = items[:limit]
	return items, cursor(items[limit-1])
}
