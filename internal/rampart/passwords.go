package rampart

import "context"

// checkPassword applies the policy and reports a violation as a field error.
func checkPassword(policy PasswordPolicy, field, password string, context ...string) error {
	if err := policy.Check(password, context...); err != nil {
		return &Error{Kind: KindInvalid, Code: CodeWeakPassword, Field: field, Message: err.Error()}
	}
	return nil
}

// rehash upgrades a stored hash made with older parameters or bcrypt. It is
// best effort: the sign-in already succeeded, and the next one retries.
func (s *Identity) rehash(ctx context.Context, user *User, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return
	}
	old := user.PasswordHash
	_, _ = s.store.UpdateUser(ctx, user.TenantID, user.ID, func(u *User) error {
		if u.PasswordHash != old {
			return Errorf(KindConflict, "password changed meanwhile")
		}
		u.PasswordHash = hash
		u.UpdatedAt = s.now()
		return nil
	})
}

// reauthenticate checks a signed-in user's password again before a
// sensitive change. It shares the sign-in throttle: a wrong password here
// counts as a failed sign-in, and a throttled account is refused.
func (s *Identity) reauthenticate(ctx context.Context, meta RequestMeta, user *User, password string) error {
	account := EmailKey(user.Email)
	if err := s.throttled(ctx, account, meta.SourceIP); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, password, user.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return s.loginFailed(ctx, meta, account, user)
	}
	return nil
}

// ChangePassword replaces the principal's password after checking the
// current one, and revokes every other session of the account, in every
// tenant (PWD-07). A wrong current
// password counts as a failed sign-in.
func (s *Identity) ChangePassword(ctx context.Context, meta RequestMeta, p Principal, current, next string) error {
	user, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, meta, user, current); err != nil {
		return err
	}
	if err := checkPassword(s.policy, "newPassword", next, user.Email, user.DisplayName); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.Atomically(ctx, func(tx Store) error {
		if _, err := tx.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
			u.PasswordHash, u.UpdatedAt = hash, now
			return nil
		}); err != nil {
			return err
		}
		// One password for every tenant of the account: its sessions in
		// all of them end, but this one.
		if err := tx.RevokeAccountSessions(ctx, p.UserID, p.SessionID, now, "password changed"); err != nil {
			return err
		}
		return s.auditor.Record(ctx, tx, meta, p.TenantID, p.UserID, "user.password_changed", p.UserID, nil)
	})
}
