package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"example.com/rampart/internal/rampart"
)

// collect scans every row of a query with scan.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, rows.Err()
}

func (s *Store) CreateTenant(ctx context.Context, t *rampart.Tenant, admin *rampart.User) error {
	if admin.TenantID != t.ID || admin.Role != rampart.RoleAdmin {
		return rampart.Errorf(rampart.KindInvalid, "a tenant's first user must be one of its admins")
	}
	t.CreatedAt = rampart.Timestamp(t.CreatedAt)
	normalizeUser(admin)
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
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var t rampart.Tenant
	err := s.pool.QueryRow(ctx, "SELECT id, name, created_at FROM tenants WHERE id = $1", id).Scan(&t.ID, &t.Name, &t.CreatedAt)
	if err != nil {
		return nil, s.getError("get tenant", "tenant", err)
	}
	return &t, nil
}

func (s *Store) ListTenantIDs(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT id FROM tenants ORDER BY created_at, id")
	ids, err := collect(rows, err, func(row pgx.Row) (string, error) {
		var id string
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, s.dbError("list tenants", err)
	}
	return ids, nil
}

const userColumns = "id, tenant_id, email, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at"

func scanUser(row pgx.Row) (*rampart.User, error) {
	var u rampart.User
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.MFA.Enabled, &u.MFA.TOTPSecret, &u.MFA.LastTOTPStep, &u.MFA.RecoveryCodeHashes, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func normalizeUser(u *rampart.User) {
	u.CreatedAt = rampart.Timestamp(u.CreatedAt)
	u.UpdatedAt = rampart.Timestamp(u.UpdatedAt)
}

// execer is a *pgxpool.Pool or a pgx.Tx.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
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
	normalizeUser(u)
	if err := insertUser(ctx, s.pool, u); err != nil {
		return s.dbError("create user", err)
	}
	return nil
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*rampart.User, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if err != nil {
		return nil, s.getError("get user", "user", err)
	}
	return u, nil
}

func (s *Store) FindUserByEmail(ctx context.Context, email string) (*rampart.User, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email_key = $1", rampart.EmailKey(email)))
	if err != nil {
		return nil, s.getError("find user by email", "user", err)
	}
	return u, nil
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.User, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	b := page.Before()
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4",
		tenantID, b.CreatedAt, b.ID, page.Limit+1)
	users, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, rampart.Cursor{}, s.dbError("list users", err)
	}
	users, next := rampart.NextPage(users, page.Limit, func(u *rampart.User) rampart.Cursor {
		return rampart.Cursor{CreatedAt: u.CreatedAt, ID: u.ID}
	})
	return users, next, nil
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, fn func(*rampart.User) error) (*rampart.User, error) {
	var u *rampart.User
	err := s.inTx(ctx, "update user", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenantID, id))
		if err != nil {
			return s.getError("update user", "user", err)
		}
		before := *u
		if err := fn(u); err != nil {
			return err
		}
		u.ID, u.TenantID, u.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		normalizeUser(u)
		if before.Role == rampart.RoleAdmin && u.Role != rampart.RoleAdmin {
			if err := s.checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, "UPDATE users SET email = $1, email_key = $2, display_name = $3, role = $4, password_hash = $5, mfa_enabled = $6, totp_secret = $7, totp_last_step = $8, recovery_code_hashes = $9, updated_at = $10 WHERE id = $11",
			u.Email, rampart.EmailKey(u.Email), u.DisplayName, u.Role, u.PasswordHash,
			u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, u.MFA.RecoveryCodeHashes, u.UpdatedAt, id)
		if err != nil {
			return s.dbError("update user", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
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
		return rampart.Errorf(rampart.KindConflict, "a tenant must keep at least one admin")
	}
	return nil
}
