package sqlite

import (
	"context"
	"database/sql"

	"example.com/rampart/internal/rampart"
)

func (s *Store) CreateTenant(ctx context.Context, t *rampart.Tenant, admin *rampart.User) error {
	if err := rampart.CheckNewTenant(t, admin); err != nil {
		return err
	}
	rampart.RoundTimes(t, admin)
	return s.inTx(ctx, "create tenant", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
			t.ID, t.Name, micros(t.CreatedAt))
		if err != nil {
			return dbError("create tenant", err)
		}
		if err := insertUser(ctx, tx, admin); err != nil {
			return dbError("create tenant", err)
		}
		return nil
	})
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

const (
	userColumns = "id, tenant_id, email, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at"
	selectUser  = "SELECT " + userColumns + " FROM users WHERE tenant_id = ? AND id = ?"
)

func scanUser(row scanner) (*rampart.User, error) {
	var u rampart.User
	return &u, row.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.MFA.Enabled, &u.MFA.TOTPSecret, &u.MFA.LastTOTPStep, jsonColumn{&u.MFA.RecoveryCodeHashes},
		timeColumn{&u.CreatedAt}, timeColumn{&u.UpdatedAt})
}

func insertUser(ctx context.Context, db execer, u *rampart.User) error {
	_, err := db.ExecContext(ctx, "INSERT INTO users ("+userColumns+", email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.TenantID, u.Email, u.DisplayName, u.Role, u.PasswordHash,
		u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, jsonColumn{u.MFA.RecoveryCodeHashes}, micros(u.CreatedAt), micros(u.UpdatedAt),
		rampart.EmailKey(u.Email))
	return err
}

func (s *Store) CreateUser(ctx context.Context, u *rampart.User) error {
	rampart.RoundTimes(u)
	if err := insertUser(ctx, s.writer, u); err != nil {
		return dbError("create user", err)
	}
	return nil
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*rampart.User, error) {
	return get(ctx, s.reader, "get user", "user", scanUser, selectUser, tenantID, id)
}

func (s *Store) FindUserByEmail(ctx context.Context, email string) (*rampart.User, error) {
	return get(ctx, s.reader, "find user by email", "user", scanUser,
		"SELECT "+userColumns+" FROM users WHERE email_key = ?", rampart.EmailKey(email))
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.User, rampart.Cursor, error) {
	return list(ctx, s, "list users", page, scanUser,
		"SELECT "+userColumns+" FROM users WHERE tenant_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?", tenantID)
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, fn func(*rampart.User) error) (*rampart.User, error) {
	return update(ctx, s, "update user", "user", scanUser, fn, func(tx *sql.Tx, u, before *rampart.User) error {
		if rampart.RemovesAdmin(before, u) {
			if err := checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE users SET email = ?, email_key = ?, display_name = ?, role = ?, password_hash = ?, mfa_enabled = ?, totp_secret = ?, totp_last_step = ?, recovery_code_hashes = ?, updated_at = ? WHERE id = ?",
			u.Email, rampart.EmailKey(u.Email), u.DisplayName, u.Role, u.PasswordHash,
			u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, jsonColumn{u.MFA.RecoveryCodeHashes}, micros(u.UpdatedAt), id)
		if err != nil {
			return dbError("update user", err)
		}
		return nil
	}, selectUser, tenantID, id)
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, "delete user", func(tx *sql.Tx) error {
		var role rampart.Role
		err := tx.QueryRowContext(ctx, "SELECT role FROM users WHERE tenant_id = ? AND id = ?", tenantID, id).Scan(&role)
		if err != nil {
			return getError("delete user", "user", err)
		}
		if role == rampart.RoleAdmin {
			if err := checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", id); err != nil {
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
	err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ? AND role = 'admin' AND id <> ?)", tenantID, id).Scan(&ok)
	if err != nil {
		return dbError("check admins", err)
	}
	if !ok {
		return rampart.LastAdminError()
	}
	return nil
}
