// Package storetest is the conformance suite for rampart.Store. Every store
// runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) rampart.Store { return newTestStore(t) })
//	}
//
// The suite checks behaviour that callers rely on and that both stores must
// share: what is read back equals what was written, which error kinds come
// back, that no tenant reaches another's data, and that concurrent use loses
// nothing.
package storetest

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// Run runs the suite. newStore must return an empty, migrated store for the
// test it is given and close it when that test ends; it is called once per
// subtest.
func Run(t *testing.T, newStore func(t *testing.T) rampart.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s rampart.Store)
	}{
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"EmailIsUniqueIgnoringCase", testEmailUnique},
		{"LastAdmin", testLastAdmin},
		{"Accounts", testAccounts},
		{"AccountSessions", testAccountSessions},
		{"DeleteMembership", testDeleteMembership},
		{"Sessions", testSessions},
		{"SessionTokenHistory", testSessionTokenHistory},
		{"SessionDetails", testSessionDetails},
		{"SessionTokenHashesAreNeverReused", testSessionTokenHashesNeverReused},
		{"LinkTokens", testLinkTokens},
		{"RedeemLinkTokenRefusals", testRedeemLinkTokenRefusals},
		{"ConcurrentLinkRedemption", testConcurrentLinkRedemption},
		{"Invitations", testInvitations},
		{"TenantWithInvitation", testTenantWithInvitation},
		{"RevokeLinkTokens", testRevokeLinkTokens},
		{"LinkTokensAtomically", testLinkTokensAtomically},
		{"SigningKeys", testSigningKeys},
		{"APIKeys", testAPIKeys},
		{"Orders", testOrders},
		{"AuditEvents", testAuditEvents},
		{"AuditChain", testAuditChain},
		{"TenantIsolation", testTenantIsolation},
		{"HostileValues", testHostileValues},
		{"Pagination", testPagination},
		{"PaginationDuringInserts", testPaginationDuringInserts},
		{"ConcurrentOrderUpdates", testConcurrentOrderUpdates},
		{"ConcurrentAuditAppends", testConcurrentAuditAppends},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"UnavailableSaysWhenToRetry", testUnavailableSaysWhenToRetry},
		{"Atomically", testAtomically},
		{"AtomicAuditFailureRollsBack", testAtomicAuditFailureRollsBack},
		{"ConcurrentAtomicAppends", testConcurrentAtomicAppends},
		{"MailOutbox", testMailOutbox},
		{"MailCommitsWithItsUnit", testMailCommitsWithItsUnit},
		{"ConcurrentMailClaims", testConcurrentMailClaims},
		{"PurgeSessions", testPurgeSessions},
		{"PurgeLinkTokens", testPurgeLinkTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// base is a time with nanoseconds and a zone, to show that stores keep times
// in UTC at microsecond precision.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+2", 2*3600))

func testTimeRoundTrip(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	for _, at := range []time.Time{
		base,
		time.Date(1970, 1, 1, 0, 0, 0, 999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(9000, 1, 1, 0, 0, 0, 1_000, time.FixedZone("UTC-11", -11*3600)),
		time.Now(), // with a monotonic reading
	} {
		o := newOrder(tenant.ID, admin.ID, at)
		check(t, s.CreateOrder(ctx, o))
		want := at.UTC().Truncate(time.Microsecond)
		if o.CreatedAt != want {
			t.Errorf("CreateOrder left CreatedAt %v for %v, want %v", o.CreatedAt, at, want)
		}
		got, err := s.GetOrder(ctx, tenant.ID, o.ID)
		check(t, err)
		if got.CreatedAt != want || got.UpdatedAt != want {
			t.Errorf("order created at %v read back as %v, want %v", at, got.CreatedAt, want)
		}
	}
}
