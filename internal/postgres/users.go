package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

func (s *Store) CreateTenant(ctx context.Context, t *rampart.Tenant, admin *rampart.User) error {
	if err := rampart.CheckNewTenant(t, admin); err != nil {
		return err
	}
	rampart.RoundTimes(t, admin)
	return s.inTx(ctx, "create tenant", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)", t.ID, t.Name, t.CreatedAt)
		if err != nil {
			return s.dbError("create tenant", err)
		}
		if err := insertUser(ctx, tx, admin); err != nil {
			return s.dbError("create tenant", err)
		}
		return nil
	})
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

const (
	userColumns = "id, tenant_id, email, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at"
	selectUser  = "SELECT " + userColumns + " FROM users WHERE tenant_id = $1 AND id = $2"
)

func scanUser(row pgx.Row) (*rampart.User, error) {
	var u rampart.User
	return &u, row.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.MFA.Enabled, &u.MFA.TOTPSecret, &u.MFA.LastTOTPStep, &u.MFA.RecoveryCodeHashes, &u.CreatedAt, &u.UpdatedAt)
}

func insertUser(ctx context.Context, db execer, u *rampart.User) error {
	_, err := db.Exec(ctx, "INSERT INTO users ("+userColumns+", email_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		u.ID, u.TenantID, u.Email, u.DisplayName, u.Role, u.PasswordHash,
		u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, u.MFA.RecoveryCodeHashes, u.CreatedAt, u.UpdatedAt,
		rampart.EmailKey(u.Email))
	return err
}

func (s *Store) CreateUser(ctx context.Context, u *rampart.User) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rampart.RoundTimes(u)
	if err := insertUser(ctx, s.pool, u); err != nil {
		return s.dbError("create user", err)
	}
	return nil
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*rampart.User, error) {
	return get(ctx, s, "get user", "user", scanUser, selectUser, tenantID, id)
}

func (s *Store) FindUserByEmail(ctx context.Context, email string) (*rampart.User, error) {
	return get(ctx, s, "find user by email", "user", scanUser,
		"SELECT "+userColumns+" FROM users WHERE email_key = $1", rampart.EmailKey(email))
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.User, rampart.Cursor, error) {
	return list(ctx, s, "list users", page, scanUser,
		"SELECT "+userColumns+" FROM users WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4", tenantID)
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, fn func(*rampart.User) error) (*rampart.User, error) {
	return update(ctx, s, "update user", "user", scanUser, fn, func(ctx context.Context, tx pgx.Tx, u, before *rampart.User) error {
		if rampart.RemovesAdmin(before, u) {
			if err := s.checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "UPDATE users SET email = $1, email_key = $2, display_name = $3, role = $4, password_hash = $5, mfa_enabled = $6, totp_secret = $7, totp_last_step = $8, recovery_code_hashes = $9, updated_at = $10 WHERE id = $11",
			u.Email, rampart.EmailKey(u.Email), u.DisplayName, u.Role, u.PasswordHash,
			u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, u.MFA.RecoveryCodeHashes, u.UpdatedAt, id)
		if err != nil {
			return s.dbError("update user", err)
		}
		return nil
	}, selectUser+" FOR UPDATE", tenantID, id)
}

func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, "delete user", func(ctx context.Context, tx pgx.Tx) error {
		var role rampart.Role
		err := tx.QueryRow(ctx, "SELECT role FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenantID, id).Scan(&role)
		if err != nil {
			return s.getError("delete user", "user", err)
		}
		if role == rampart.RoleAdmin {
			if err := s.checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = $1", id); err != nil {
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
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND role = 'admin' AND id <> $2)", tenantID, id).Scan(&ok)
	if err != nil {
		return s.dbError("check admins", err)
	}
	if !ok {
		return rampart.LastAdminError()
	}
	return nil
}
