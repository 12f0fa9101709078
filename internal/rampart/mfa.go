package rampart

import (
	"context"
	"errors"
	"time"
)

// checkSecondFactor accepts a TOTP code (once) or a recovery code (once),
// and records which was used.
func (s *Identity) checkSecondFactor(ctx context.Context, user *User, code string) error {
	secret, err := s.sealer.Open(user.MFA.TOTPSecret, totpAD(user.ID))
	if err != nil {
		return WrapError(KindInternal, err, "")
	}
	now := s.now()
	_, err = s.store.UpdateUser(ctx, user.TenantID, user.ID, func(u *User) error {
		// Checked inside the update, against the stored last step, so two
		// concurrent sign-ins cannot both spend the same code.
		if s.spendCode(&u.MFA, secret, code, now) {
			return nil
		}
		return errInvalidCredentials
	})
	return err
}

// spendCode accepts a TOTP code (once) or a recovery code (once) against
// m, recording in m which was used. It reports whether code was either.
func (s *Identity) spendCode(m *MFA, secret []byte, code string, now time.Time) bool {
	if step, ok := s.totp.Verify(secret, code, now, m.LastTOTPStep); ok {
		m.LastTOTPStep = step
		return true
	}
	if i, ok := s.totp.MatchRecoveryCode(code, m.RecoveryCodeHashes); ok {
		m.RecoveryCodeHashes = append(m.RecoveryCodeHashes[:i:i], m.RecoveryCodeHashes[i+1:]...)
		return true
	}
	return false
}

func totpAD(userID string) []byte { return []byte("totp:" + userID) }

// TOTPEnrolment is a pending second factor: shown once, active after
// ConfirmTOTP.
type TOTPEnrolment struct {
	Secret string // base32, for typing in by hand
	URI    string // otpauth:// for QR codes
}

// EnrolTOTP starts (or restarts) TOTP enrolment. The secret is stored
// sealed and stays inactive until a first valid code confirms it (MFA-03).
func (s *Identity) EnrolTOTP(ctx context.Context, p Principal) (*TOTPEnrolment, error) {
	secret, err := s.totp.GenerateSecret()
	if err != nil {
		return nil, WrapError(KindInternal, err, "")
	}
	sealed, err := s.sealer.Seal(secret, totpAD(p.UserID))
	if err != nil {
		return nil, WrapError(KindInternal, err, "")
	}
	user, err := s.store.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
		if u.MFA.Enabled {
			return &Error{Kind: KindConflict, Code: CodeMFAEnabled, Message: "TOTP is already enabled; disable it first"}
		}
		u.MFA = MFA{TOTPSecret: sealed}
		u.UpdatedAt = s.now()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: s.totp.EncodeSecret(secret), URI: s.totp.KeyURI(secret, s.cfg.Issuer, user.Email)}, nil
}

// RecoveryCodeCount is how many single-use recovery codes a user gets.
const RecoveryCodeCount = 10

// ConfirmTOTP activates the pending secret with a first valid code and
// returns the recovery codes, shown this once.
func (s *Identity) ConfirmTOTP(ctx context.Context, meta RequestMeta, p Principal, code string) ([]string, error) {
	codes, err := s.totp.GenerateRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		return nil, WrapError(KindInternal, err, "")
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = s.totp.HashRecoveryCode(c)
	}
	now := s.now()
	confirm := func(u *User) error {
		if u.MFA.Enabled {
			return &Error{Kind: KindConflict, Code: CodeMFAEnabled, Message: "TOTP is already enabled"}
		}
		if u.MFA.TOTPSecret == nil {
			return &Error{Kind: KindConflict, Code: CodeMFANotEnrolled, Message: "start TOTP enrolment first"}
		}
		secret, err := s.sealer.Open(u.MFA.TOTPSecret, totpAD(u.ID))
		if err != nil {
			return WrapError(KindInternal, err, "")
		}
		step, ok := s.totp.Verify(secret, code, now, u.MFA.LastTOTPStep)
		if !ok {
			return &Error{Kind: KindInvalid, Code: CodeInvalidCode, Field: "code", Message: "the code is not correct"}
		}
		u.MFA = MFA{Enabled: true, TOTPSecret: u.MFA.TOTPSecret, LastTOTPStep: step, RecoveryCodeHashes: hashes}
		u.UpdatedAt = now
		return nil
	}
	err = s.store.Atomically(ctx, func(tx Store) error {
		_, err := tx.UpdateUser(ctx, p.TenantID, p.UserID, confirm)
		if err != nil {
			return err
		}
		return s.auditor.Record(ctx, tx, meta, p.TenantID, p.UserID, "user.mfa_enabled", p.UserID, nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP removes the second factor; it needs the password and a
// current code (or a recovery code), and counts failures like a sign-in.
func (s *Identity) DisableTOTP(ctx context.Context, meta RequestMeta, p Principal, password, code string) error {
	user, err := s.store.GetUser(ctx, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	if !user.MFA.Enabled {
		return &Error{Kind: KindConflict, Code: CodeMFANotEnabled, Message: "TOTP is not enabled"}
	}
	if err := s.reauthenticate(ctx, meta, user, password); err != nil {
		return err
	}
	if err := s.checkSecondFactor(ctx, user, code); err != nil {
		if errors.Is(err, errInvalidCredentials) {
			return s.loginFailed(ctx, meta, EmailKey(user.Email), user)
		}
		return err
	}
	return s.store.Atomically(ctx, func(tx Store) error {
		if _, err := tx.UpdateUser(ctx, p.TenantID, p.UserID, func(u *User) error {
			u.MFA = MFA{}
			u.UpdatedAt = s.now()
			return nil
		}); err != nil {
			return err
		}
		return s.auditor.Record(ctx, tx, meta, p.TenantID, p.UserID, "user.mfa_disabled", p.UserID, nil)
	})
}
