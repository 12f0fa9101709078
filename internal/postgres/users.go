package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"example.com/rampart/internal/rampart"
)

func (s *Store) CreateTenant(ctx context.Context, t *rampart.Tenant) error {
	rampart.RoundTimes(t)
	return s.exec(ctx, "create tenant", "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)", t.ID, t.Name, t.CreatedAt)
}

func (s *Store) GetTenant(ctx context.Context, id string) (*rampart.Tenant, error) {
	return get(ctx, s, "get tenant", "tenant", func(row pgx.Row) (*rampart.Tenant, error) {
		var t rampart.Tenant
		return &t, row.Scan(&t.ID, &t.Name, &t.CreatedAt)
	}, "SELECT id, name, created_at FROM tenants WHERE id = $1", id)
}

func (s *Store) ListTenantIDs(ctx context.Context) ([]string, error) {
	return all(ctx, s, "list tenants", func(row pgx.Row) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, "SELECT id FROM tenants ORDER BY created_at, id")
}

// A user is an account seen through a membership: the query joins them.
const (
	userColumns = "a.id, m.tenant_id, a.email, m.display_name, m.role, a.password_hash, a.email_verified, a.mfa_enabled, a.totp_secret, a.totp_last_step, a.recovery_code_hashes, m.created_at, m.updated_at"
	fromUsers   = " FROM memberships m JOIN accounts a ON a.id = m.account_id"
	selectUser  = "SELECT " + userColumns + fromUsers + " WHERE m.tenant_id = $1 AND m.account_id = $2"

	accountColumns = "id, email, password_hash, email_verified, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, last_tenant_id, created_at, updated_at"
	selectAccount  = "SELECT " + accountColumns + " FROM accounts"
)

func scanUser(row pgx.Row) (*rampart.User, error) {
	var u rampart.User
	return &u, row.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash, &u.EmailVerified,
		&u.MFA.Enabled, &u.MFA.TOTPSecret, &u.MFA.LastTOTPStep, &u.MFA.RecoveryCodeHashes, &u.CreatedAt, &u.UpdatedAt)
}

func scanAccount(row pgx.Row) (*rampart.Account, error) {
	var a rampart.Account
	var last pgtype.Text
	err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &a.EmailVerified, &a.MFA.Enabled, &a.MFA.TOTPSecret,
		&a.MFA.LastTOTPStep, &a.MFA.RecoveryCodeHashes, &last, &a.CreatedAt, &a.UpdatedAt)
	a.LastTenantID = last.String
	return &a, err
}

// insertUser stores u as a new account with its first membership.
func insertUser(ctx context.Context, db execer, u *rampart.User) error {
	_, err := db.Exec(ctx, "INSERT INTO accounts ("+accountColumns+", email_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
		u.ID, u.Email, u.PasswordHash, u.EmailVerified, u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep,
		u.MFA.RecoveryCodeHashes, u.TenantID, u.CreatedAt, u.CreatedAt, rampart.EmailKey(u.Email))
	if err != nil {
		return err
	}
	return insertMembership(ctx, db, &rampart.Membership{TenantID: u.TenantID, AccountID: u.ID, Role: u.Role,
		DisplayName: u.DisplayName, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
}

func insertMembership(ctx context.Context, db execer, m *rampart.Membership) error {
	_, err := db.Exec(ctx, "INSERT INTO memberships (tenant_id, account_id, role, display_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
		m.TenantID, m.AccountID, m.Role, m.DisplayName, m.CreatedAt, m.UpdatedAt)
	return err
}

func (s *Store) CreateUser(ctx context.Context, u *rampart.User) error {
	rampart.RoundTimes(u)
	return s.inTx(ctx, "create user", func(ctx context.Context, tx pgx.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return s.dbError("create user", err)
		}
		return nil
	})
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*rampart.User, error) {
	return get(ctx, s, "get user", "user", scanUser, selectUser, tenantID, id)
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.User, rampart.Cursor, error) {
	return list(ctx, s, "list users", page, scanUser,
		"SELECT "+userColumns+fromUsers+" WHERE m.tenant_id = $1 AND (m.created_at, m.account_id) < ($2, $3) ORDER BY m.created_at DESC, m.account_id DESC LIMIT $4", tenantID)
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, fn func(*rampart.User) error) (*rampart.User, error) {
	return update(ctx, s, "update user", "user", scanUser, fn, func(ctx context.Context, tx pgx.Tx, u, before *rampart.User) error {
		if rampart.RemovesAdmin(before, u) {
			if err := s.checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		if rampart.AccountChanged(before, u) {
			_, err := tx.Exec(ctx, "UPDATE accounts SET email = $1, email_key = $2, password_hash = $3, email_verified = $4, mfa_enabled = $5, totp_secret = $6, totp_last_step = $7, recovery_code_hashes = $8, updated_at = $9 WHERE id = $10",
				u.Email, rampart.EmailKey(u.Email), u.PasswordHash, u.EmailVerified,
				u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, u.MFA.RecoveryCodeHashes, u.UpdatedAt, id)
			if err != nil {
				return s.dbError("update user", err)
			}
		}
		_, err := tx.Exec(ctx, "UPDATE memberships SET display_name = $1, role = $2, updated_at = $3 WHERE tenant_id = $4 AND account_id = $5",
			u.DisplayName, u.Role, u.UpdatedAt, tenantID, id)
		if err != nil {
			return s.dbError("update user", err)
		}
		return nil
	}, selectUser+" FOR UPDATE", tenantID, id)
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, "delete user", func(ctx context.Context, tx pgx.Tx) error {
		var role rampart.Role
		err := tx.QueryRow(ctx, "SELECT role FROM memberships WHERE tenant_id = $1 AND account_id = $2 FOR UPDATE", tenantID, id).Scan(&role)
		if err != nil {
			return s.getError("delete user", "user", err)
		}
		if role == rampart.RoleAdmin {
			if err := s.checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		// The account row is locked first, so that two deletions of its
		// last two memberships cannot both leave it behind.
		if _, err := tx.Exec(ctx, "SELECT FROM accounts WHERE id = $1 FOR UPDATE", id); err != nil {
			return s.dbError("delete user", err)
		}
		// The sessions in this tenant go by the foreign key's cascade.
		if _, err := tx.Exec(ctx, "DELETE FROM memberships WHERE tenant_id = $1 AND account_id = $2", tenantID, id); err != nil {
			return s.dbError("delete user", err)
		}
		if _, err := tx.Exec(ctx, "UPDATE accounts SET last_tenant_id = NULL WHERE id = $1 AND last_tenant_id = $2", id, tenantID); err != nil {
			return s.dbError("delete user", err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM accounts WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM memberships WHERE account_id = $1)", id); err != nil {
			return s.dbError("delete user", err)
		}
		return nil
	})
}

// checkOtherAdmin returns a Conflict error unless the tenant has an admin
// other than the user with the given id. It first locks the tenant's row, so
// that two transactions demoting or deleting two admins take turns: the
// second then counts with the first's change committed. FOR NO KEY UPDATE,
// because it does not block the foreign key checks of inserts into the
// tenant.
func (s *Store) checkOtherAdmin(ctx context.Context, tx pgx.Tx, tenantID, id string) error {
	if _, err := tx.Exec(ctx, "SELECT FROM tenants WHERE id = $1 FOR NO KEY UPDATE", tenantID); err != nil {
		return s.dbError("check admins", err)
	}
	var ok bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND role = 'admin' AND account_id <> $2)", tenantID, id).Scan(&ok)
	if err != nil {
		return s.dbError("check admins", err)
	}
	if !ok {
		return rampart.LastAdminError()
	}
	return nil
}

func (s *Store) GetAccount(ctx context.Context, id string) (*rampart.Account, error) {
	return get(ctx, s, "get account", "account", scanAccount, selectAccount+" WHERE id = $1", id)
}

func (s *Store) FindAccountByEmail(ctx context.Context, email string) (*rampart.Account, error) {
	return get(ctx, s, "find account by email", "account", scanAccount, selectAccount+" WHERE email_key = $1", rampart.EmailKey(email))
}

func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(*rampart.Account) error) (*rampart.Account, error) {
	return update(ctx, s, "update account", "account", scanAccount, fn, func(ctx context.Context, tx pgx.Tx, a, _ *rampart.Account) error {
		_, err := tx.Exec(ctx, "UPDATE accounts SET email = $1, email_key = $2, password_hash = $3, email_verified = $4, mfa_enabled = $5, totp_secret = $6, totp_last_step = $7, recovery_code_hashes = $8, last_tenant_id = $9, updated_at = $10 WHERE id = $11",
			a.Email, rampart.EmailKey(a.Email), a.PasswordHash, a.EmailVerified,
			a.MFA.Enabled, a.MFA.TOTPSecret, a.MFA.LastTOTPStep, a.MFA.RecoveryCodeHashes,
			pgtype.Text{String: a.LastTenantID, Valid: a.LastTenantID != ""}, a.UpdatedAt, id)
		if err != nil {
			return s.dbError("update account", err)
		}
		return nil
	}, selectAccount+" WHERE id = $1 FOR UPDATE", id)
}

func scanMembership(row pgx.Row) (*rampart.Membership, error) {
	var m rampart.Membership
	return &m, row.Scan(&m.TenantID, &m.TenantName, &m.AccountID, &m.Role, &m.DisplayName, &m.CreatedAt, &m.UpdatedAt)
}

func (s *Store) ListMemberships(ctx context.Context, accountID string) ([]*rampart.Membership, error) {
	return all(ctx, s, "list memberships", scanMembership,
		"SELECT m.tenant_id, t.name, m.account_id, m.role, m.display_name, m.created_at, m.updated_at FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.account_id = $1 ORDER BY m.created_at, m.tenant_id", accountID)
}

func (s *Store) AddMembership(ctx context.Context, m *rampart.Membership) error {
	if err := rampart.CheckNewMembership(m); err != nil {
		return err
	}
	rampart.RoundTimes(m)
	return s.inTx(ctx, "add membership", func(ctx context.Context, tx pgx.Tx) error {
		if err := insertMembership(ctx, tx, m); err != nil {
			return s.dbError("add membership", err)
		}
		return nil
	})
}
