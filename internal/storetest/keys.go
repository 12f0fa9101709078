package storetest

// Signing keys and API keys.

import (
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

func testSigningKeys(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	older := newSigningKey(base)
	newer := newSigningKey(base.Add(time.Hour))
	for _, k := range []*rampart.SigningKey{older, newer} {
		check(t, s.CreateSigningKey(ctx, k))
	}
	wantKind(t, s.CreateSigningKey(ctx, older), rampart.KindConflict)
	keys, err := s.ListSigningKeys(ctx)
	check(t, err)
	equal(t, keys, []*rampart.SigningKey{newer, older})

	check(t, s.RetireSigningKey(ctx, older.ID, base.Add(2*time.Hour)))
	check(t, s.RetireSigningKey(ctx, older.ID, base.Add(3*time.Hour)))
	older.RetiredAt = rampart.Timestamp(base.Add(2 * time.Hour))
	keys, err = s.ListSigningKeys(ctx)
	check(t, err)
	equal(t, keys, []*rampart.SigningKey{newer, older})

	check(t, s.DeleteSigningKey(ctx, older.ID))
	keys, err = s.ListSigningKeys(ctx)
	check(t, err)
	equal(t, keys, []*rampart.SigningKey{newer})
	wantKind(t, s.DeleteSigningKey(ctx, older.ID), rampart.KindNotFound)
	wantKind(t, s.RetireSigningKey(ctx, older.ID, base), rampart.KindNotFound)
}

func testAPIKeys(t *testing.T, s rampart.Store) {
	ctx := t.Context()
	tenant, admin := newTenant(t, s)

	k := newAPIKey(tenant.ID, admin.ID, base)
	k.ExpiresAt = base.Add(30 * 24 * time.Hour)
	check(t, s.CreateAPIKey(ctx, k))
	got, err := s.GetAPIKey(ctx, tenant.ID, k.ID)
	check(t, err)
	equal(t, got, k)
	got, err = s.FindAPIKeyByHash(ctx, k.Hash)
	check(t, err)
	equal(t, got, k)
	_, err = s.FindAPIKeyByHash(ctx, []byte("unknown"))
	wantKind(t, err, rampart.KindNotFound)

	sameHash := newAPIKey(tenant.ID, admin.ID, base)
	sameHash.Hash = k.Hash
	wantKind(t, s.CreateAPIKey(ctx, sameHash), rampart.KindConflict)
	wantKind(t, s.CreateAPIKey(ctx, newAPIKey(rampart.NewID(), admin.ID, base)), rampart.KindNotFound)

	check(t, s.TouchAPIKey(ctx, tenant.ID, k.ID, base.Add(time.Minute)))
	check(t, s.RevokeAPIKey(ctx, tenant.ID, k.ID, base.Add(2*time.Minute)))
	check(t, s.RevokeAPIKey(ctx, tenant.ID, k.ID, base.Add(3*time.Minute)))
	k.LastUsedAt = rampart.Timestamp(base.Add(time.Minute))
	k.RevokedAt = rampart.Timestamp(base.Add(2 * time.Minute))
	got, err = s.FindAPIKeyByHash(ctx, k.Hash)
	check(t, err)
	equal(t, got, k)

	newer := newAPIKey(tenant.ID, admin.ID, base.Add(time.Hour))
	check(t, s.CreateAPIKey(ctx, newer))
	keys, _, err := s.ListAPIKeys(ctx, tenant.ID, rampart.Page{Limit: 10})
	check(t, err)
	equal(t, keys, []*rampart.APIKey{newer, k})

	wantKind(t, s.TouchAPIKey(ctx, tenant.ID, rampart.NewID(), base), rampart.KindNotFound)
	wantKind(t, s.RevokeAPIKey(ctx, tenant.ID, rampart.NewID(), base), rampart.KindNotFound)
}
