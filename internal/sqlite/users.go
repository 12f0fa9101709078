package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"example.com/rampart/internal/rampart"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// collect scans every row of a query with scan.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
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
	var t rampart.Tenant
	var created int64
	err := s.reader.QueryRowContext(ctx, "SELECT id, name, created_at FROM tenants WHERE id = ?", id).
		Scan(&t.ID, &t.Name, &created)
	if err != nil {
		return nil, getError("get tenant", "tenant", err)
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

func (s *Store) ListTenantIDs(ctx context.Context) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT id FROM tenants ORDER BY created_at, id")
	ids, err := collect(rows, err, func(row scanner) (string, error) {
		var id string
		return id, row.Scan(&id)
	})
	if err != nil {
		return nil, dbError("list tenants", err)
	}
	return ids, nil
}

const userColumns = "id, tenant_id, email, display_name, role, password_hash, mfa_enabled, totp_secret, totp_last_step, recovery_code_hashes, created_at, updated_at"

func scanUser(row scanner) (*rampart.User, error) {
	var u rampart.User
	var codes []byte
	var created, updated int64
	err := row.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.MFA.Enabled, &u.MFA.TOTPSecret, &u.MFA.LastTOTPStep, &codes, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(codes, &u.MFA.RecoveryCodeHashes); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &u, nil
}

func normalizeUser(u *rampart.User) {
	u.CreatedAt = rampart.Timestamp(u.CreatedAt)
	u.UpdatedAt = rampart.Timestamp(u.UpdatedAt)
}

func insertUser(ctx context.Context, db execer, u *rampart.User) error {
	codes, err := json.Marshal(u.MFA.RecoveryCodeHashes)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "INSERT INTO users ("+userColumns+", email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.TenantID, u.Email, u.DisplayName, u.Role, u.PasswordHash,
		u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, string(codes), micros(u.CreatedAt), micros(u.UpdatedAt),
		rampart.EmailKey(u.Email))
	return err
}

func (s *Store) CreateUser(ctx context.Context, u *rampart.User) error {
	normalizeUser(u)
	if err := insertUser(ctx, s.writer, u); err != nil {
		return dbError("create user", err)
	}
	return nil
}

func (s *Store) GetUser(ctx context.Context, tenantID, id string) (*rampart.User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE tenant_id = ? AND id = ?", tenantID, id))
	if err != nil {
		return nil, getError("get user", "user", err)
	}
	return u, nil
}

func (s *Store) FindUserByEmail(ctx context.Context, email string) (*rampart.User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email_key = ?", rampart.EmailKey(email)))
	if err != nil {
		return nil, getError("find user by email", "user", err)
	}
	return u, nil
}

func (s *Store) ListUsers(ctx context.Context, tenantID string, page rampart.Page) ([]*rampart.User, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	b := page.Before()
	rows, err := s.reader.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE tenant_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
		tenantID, micros(b.CreatedAt), b.ID, page.Limit+1)
	users, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, rampart.Cursor{}, dbError("list users", err)
	}
	users, next := rampart.NextPage(users, page.Limit, func(u *rampart.User) rampart.Cursor {
		return rampart.Cursor{CreatedAt: u.CreatedAt, ID: u.ID}
	})
	return users, next, nil
}

func (s *Store) UpdateUser(ctx context.Context, tenantID, id string, fn func(*rampart.User) error) (*rampart.User, error) {
	var u *rampart.User
	err := s.inTx(ctx, "update user", func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE tenant_id = ? AND id = ?", tenantID, id))
		if err != nil {
			return getError("update user", "user", err)
		}
		before := *u
		if err := fn(u); err != nil {
			return err
		}
		u.ID, u.TenantID, u.CreatedAt = before.ID, before.TenantID, before.CreatedAt
		normalizeUser(u)
		if before.Role == rampart.RoleAdmin && u.Role != rampart.RoleAdmin {
			if err := checkOtherAdmin(ctx, tx, tenantID, id); err != nil {
				return err
			}
		}
		codes, err := json.Marshal(u.MFA.RecoveryCodeHashes)
		if err != nil {
			return dbError("update user", err)
		}
		_, err = tx.ExecContext(ctx, "UPDATE users SET email = ?, email_key = ?, display_name = ?, role = ?, password_hash = ?, mfa_enabled = ?, totp_secret = ?, totp_last_step = ?, recovery_code_hashes = ?, updated_at = ? WHERE id = ?",
			u.Email, rampart.EmailKey(u.Email), u.DisplayName, u.Role, u.PasswordHash,
			u.MFA.Enabled, u.MFA.TOTPSecret, u.MFA.LastTOTPStep, string(codes), micros(u.UpdatedAt), id)
		if err != nil {
			return dbError("update user", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
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
		return rampart.Errorf(rampart.KindConflict, "a tenant must keep at least one admin")
	}
	return nil
}
