package rampart

import "context"

// SignupInput is what a new tenant's first admin provides.
type SignupInput struct {
	Email        string
	Password     string
	DisplayName  string
	Organization string
}

// Signup creates a tenant and its first user, an admin.
//
// It is signup in open mode; closed refuses it, and verify mode goes
// through RequestSignup. When a mail transport is configured, the new
// account is mailed a verification link in the same unit.
func (s *Identity) Signup(ctx context.Context, meta RequestMeta, in SignupInput) (*User, *Tenant, error) {
	if s.SignupMode() != SignupOpen {
		return nil, nil, errSignupClosed
	}
	if err := checkPassword(s.policy, "password", in.Password, in.Email, in.DisplayName, in.Organization); err != nil {
		return nil, nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	tenant := &Tenant{ID: NewID(), Name: in.Organization, CreatedAt: now}
	user := &User{ID: NewID(), TenantID: tenant.ID, Email: in.Email, DisplayName: in.DisplayName,
		Role: RoleAdmin, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = s.store.Atomically(ctx, func(tx Store) error {
		if err := CreateTenantWithAdmin(ctx, tx, tenant, user); err != nil {
			if ErrorKind(err) == KindConflict {
				return errEmailTaken(err)
			}
			return err
		}
		if s.cfg.SendVerification {
			if err := s.sendVerification(ctx, tx, user, now); err != nil {
				return err
			}
		}
		return s.auditor.Record(ctx, tx, meta, tenant.ID, user.ID, "user.signup", user.ID, nil)
	})
	if err != nil {
		return nil, nil, err
	}
	if s.cfg.SendVerification {
		s.outbox.Notify()
	}
	return user, tenant, nil
}

// errEmailTaken is the answer to creating a user whose email another
// account has; err is the store's conflict.
func errEmailTaken(err error) error {
	return &Error{Kind: KindConflict, Code: CodeEmailTaken, Message: "an account with this email exists", Err: err}
}

// Me returns the principal's user.
func (s *Identity) Me(ctx context.Context, p Principal) (*User, error) {
	return s.store.GetUser(ctx, p.TenantID, p.UserID)
}

// UpdateMe changes the principal's display name.
func (s *Identity) UpdateMe(ctx context.Context, p Principal, displayName string) (*User, error) {
	return s.store.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
		u.DisplayName = displayName
		u.UpdatedAt = s.now()
		return nil
	})
}
