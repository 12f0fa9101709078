package sqlite

import (
	"context"
	"database/sql"

	"example.com/rampart/internal/rampart"
)

func (s *Store) CreateTenant(ctx context.Context, t *rampart.Tenant) error {
	rampart.RoundTimes(t)
	return s.exec(ctx, "create tenant", "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", t.ID, t.Name, micros(t.CreatedAt))
}

func (s *Store) GetTenant(ctx context.Context, id string) (*rampart.Tenant, error) {
	return get(ctx, s.reader, "get tenant", "tenant", func(row scanner) (*rampart.Tenant, error) {
		var t rampart.Tenant
		return &t, row.Scan(&t.ID, &t.Name, timeColumn{&t.CreatedAt})
	}, "SELECT id, name, created_at FROM tenants WHERE id = ?", id)
}

func (s *Store) ListTenantIDs(ctx context.Context) ([]string, error) {
	return all(ctx, s, "list tenants", func(row scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	}, "SELECT id FROM tenants ORDER BY created_at, id")
}

// A user is an account seen through a membership: the query joins them.
const (
	userColumns = "a.id, m.tenant_id, a.email, m.display_name, m.role, a.password_hash, a.email_verified, a.mfa_enabled, a.totp_secret, a.totp_last_step, a.recovery_code_hashes, m.created_at, m.updated_at"
	fromUsers   = " FROM memberships m JOIN accounts a ON a.id = m.account_id"
	selectUser  = "SELECT " + userColumns + fromUsers + " WHERE m.tenant_id = ? AND m.account_id = ?"

	accountColumns = "id, email, password_hash, email_verified, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, last_tenant_id, created_at, updated_at"
	selectAccount  = "SELECT " + accountColumns + " FROM accounts"
)

func scanUser(row scanner) (*rampart.User, error) {
	var u rampart.User
	return &u, row.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash, &u.EmailVerified,
		&u.MFA.Enabled, &u.MFA.TOTPSecret, &u.MFA.LastTOTPStep, jsonColumn{&u.MFA.RecoveryCodeHashes},
		timeColumn{&u.CreatedAt}, timeColumn{&u.UpdatedAt})
}

func scanAccount(row scanner) (*rampart.Account, error) {
	var a rampart.Account
	var last sql.NullString
	err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &a.EmailVerified, &a.MFA.Enabled, &a.MFA.TOTPSecret,
		&a.MFA.LastTOTPStep, jsonColumn{&a.MFA.RecoveryCodeHashes}, &last, timeColumn{&a.CreatedAt}, timeColumn{&a.UpdatedAt})
	a.LastTenantID = last.String
	return &a, err
}

// insertUser stores u as a new account with its first membership.
func insertUser(ctx context.Context, db execer, u *rampart.User) error {
	_, err := db.ExecContext(ctx, "INSERT INTO accounts ("+accountColumns+", email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.Email, u.PasswordHash, u.EmailVerified, u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep,
		jsonColumn{u.MFA.RecoveryCodeHashes}, u.TenantID, micros(u.CreatedAt), micros(u.CreatedAt), rampart.EmailKey(u.Email))
	if err != nil {
		return err
	}
	return insertMembership(ctx, db, &rampart.Membership{TenantID: u.TenantID, AccountID: u.ID, Role: u.Role,
		DisplayName: u.DisplayName, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt})
}

func insertMembership(ctx context.Context, db execer, m *rampart.Membership) error {
	_, err := db.ExecContext(ctx, "INSERT INTO memberships (tenant_id, account_id, role, display_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		m.TenantID, m.AccountID, m.Role, m.DisplayName, micros(m.CreatedAt), micros(m.UpdatedAt))
	return err
}

func (s *Store) CreateUser(ctx context.Context, u *rampart.User) error {
	rampart.RoundTimes(u)
	return s.inTx(ctx, "create user", func(tx *sql.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return dbError("create user", err)
		}
		return nil
	})
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*rampart.User, error) {
	return get(ctx, s.reader, "get user", "user", scanUser, selectUser, tenantID, id)
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.User, rampart.Cursor, error) {
	return list(ctx, s, "list users", page, scanUser,
		"SELECT "+userColumns+fromUsers+" WHERE m.tenant_id = ? AND (m.created_at, m.account_id) < (?, ?) ORDER BY m.created_at DESC, m.account_id DESC LIMIT ?", tenantID)
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, fn func(*rampart.User) error) (*rampart.User, error) {
	return update(ctx, s, "update user", "user", scanUser, fn, func(tx *sql.Tx, u, before *rampart.User) error {
		if rampart.RemovesAdmin(before, u) {
			if err := checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		if rampart.AccountChanged(before, u) {
			_, err := tx.ExecContext(ctx, "UPDATE accounts SET email = ?, email_key = ?, password_hash = ?, email_verified = ?, mfa_enabled = ?, totp_secret = ?, totp_last_step = ?, recovery_code_hashes = ?, updated_at = ? WHERE id = ?",
				u.Email, rampart.EmailKey(u.Email), u.PasswordHash, u.EmailVerified,
				u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, jsonColumn{u.MFA.RecoveryCodeHashes}, micros(u.UpdatedAt), id)
			if err != nil {
				return dbError("update user", err)
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE memberships SET display_name = ?, role = ?, updated_at = ? WHERE tenant_id = ? AND account_id = ?",
			u.DisplayName, u.Role, micros(u.UpdatedAt), tenantID, id)
		if err != nil {
			return dbError("update user", err)
		}
		return nil
	}, selectUser, tenantID, id)
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, "delete user", func(tx *sql.Tx) error {
		var role rampart.Role
		err := tx.QueryRowContext(ctx, "SELECT role FROM memberships WHERE tenant_id = ? AND account_id = ?", tenantID, id).Scan(&role)
		if err != nil {
			return getError("delete user", "user", err)
		}
		if role == rampart.RoleAdmin {
			if err := checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		// The sessions in this tenant go by the foreign key's cascade.
		if _, err := tx.ExecContext(ctx, "DELETE FROM memberships WHERE tenant_id = ? AND account_id = ?", tenantID, id); err != nil {
			return dbError("delete user", err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET last_tenant_id = NULL WHERE id = ? AND last_tenant_id = ?", id, tenantID); err != nil {
			return dbError("delete user", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE id = ? AND NOT EXISTS (SELECT 1 FROM memberships WHERE account_id = ?)", id, id); err != nil {
			return dbError("delete user", err)
		}
		return nil
	})
}

// checkOtherAdmin returns a Conflict error unless the tenant has an admin
// other than the user with the given id. Writes are serialised on the one
// writer connection, so no other transaction can demote that admin before
// this one commits.
func checkOtherAdmin(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	var ok bool
	err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND role = 'admin' AND account_id <> ?)", tenantID, id).Scan(&ok)
	if err != nil {
		return dbError("check admins", err)
	}
	if !ok {
		return rampart.LastAdminError()
	}
	return nil
}

func (s *Store) GetAccount(ctx context.Context, id string) (*rampart.Account, error) {
	return get(ctx, s.reader, "get account", "account", scanAccount, selectAccount+" WHERE id = ?", id)
}

func (s *Store) FindAccountByEmail(ctx context.Context, email string) (*rampart.Account, error) {
	return get(ctx, s.reader, "find account by email", "account", scanAccount, selectAccount+" WHERE email_key = ?", rampart.EmailKey(email))
}

func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(*rampart.Account) error) (*rampart.Account, error) {
	return update(ctx, s, "update account", "account", scanAccount, fn, func(tx *sql.Tx, a, _ *rampart.Account) error {
		_, err := tx.ExecContext(ctx, "UPDATE accounts SET email = ?, email_key = ?, password_hash = ?, email_verified = ?, mfa_enabled = ?, totp_secret = ?, totp_last_step = ?, recovery_code_hashes = ?, last_tenant_id = ?, updated_at = ? WHERE id = ?",
			a.Email, rampart.EmailKey(a.Email), a.PasswordHash, a.EmailVerified,
			a.MFA.Enabled, a.MFA.TOTPSecret, a.MFA.LastTOTPStep, jsonColumn{a.MFA.RecoveryCodeHashes},
			sql.NullString{String: a.LastTenantID, Valid: a.LastTenantID != ""}, micros(a.UpdatedAt), id)
		if err != nil {
			return dbError("update account", err)
		}
		return nil
	}, selectAccount+" WHERE id = ?", id)
}

func scanMembership(row scanner) (*rampart.Membership, error) {
	var m rampart.Membership
	return &m, row.Scan(&m.TenantID, &m.TenantName, &m.AccountID, &m.Role, &m.DisplayName, timeColumn{&m.CreatedAt}, timeColumn{&m.UpdatedAt})
}

func (s *Store) ListMemberships(ctx context.Context, accountID string) ([]*rampart.Membership, error) {
	return all(ctx, s, "list memberships", scanMembership,
		"SELECT m.tenant_id, t.name, m.account_id, m.role, m.display_name, m.created_at, m.updated_at FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.account_id = ? ORDER BY m.created_at, m.tenant_id", accountID)
}

func (s *Store) AddMembership(ctx context.Context, m *rampart.Membership) error {
	if err := rampart.CheckNewMembership(m); err != nil {
		return err
	}
	rampart.RoundTimes(m)
	if err := insertMembership(ctx, s.writer, m); err != nil {
		return dbError("add membership", err)
	}
	return nil
}
