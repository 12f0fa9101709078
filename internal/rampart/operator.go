package rampart

import (
	"context"
	"time"
)

// OperatorActor is the actor of the audit events that an operator command
// (rampart users ...) records: a person at the server, not an account.
const OperatorActor = "operator"

// OperatorAction is what an operator command did to an account.
type OperatorAction struct {
	AccountID string
	Tenants   []string // every tenant of the account, where it was audited
	HadMFA    bool     // ResetMFA: whether a second factor (or an enrolment) was there
}

// errNoAccount answers an operator command for an email with no account.
var errNoAccount = &Error{Kind: KindNotFound, Message: "no account has this email"}

// ResetMFA is the operator's recovery for a person who lost their second
// factor: it turns off TOTP and drops the recovery codes (and any pending
// enrolment) of the account with this email, revokes every session of it
// in every tenant, and records user.mfa_reset in each of its tenants, all
// in one transaction. NotFound: no account has this email.
func ResetMFA(ctx context.Context, st Store, email string, now time.Time) (*OperatorAction, error) {
	return operatorOnAccount(ctx, st, email, now, "user.mfa_reset", "mfa reset by operator",
		func(tx Store, act *OperatorAction) error {
			_, err := tx.UpdateAccount(ctx, act.AccountID, func(a *Account) error {
				act.HadMFA = a.MFA.Enabled || a.MFA.TOTPSecret != nil
				a.MFA = MFA{}
				a.UpdatedAt = now
				return nil
			})
			return err
		})
}

// RevokeAccountSessions is the operator's answer to a stolen session: it
// revokes every session of the account with this email in every tenant,
// and records session.revoked_all in each of its tenants, in one
// transaction. NotFound: no account has this email.
func RevokeAccountSessions(ctx context.Context, st Store, email string, now time.Time) (*OperatorAction, error) {
	return operatorOnAccount(ctx, st, email, now, "session.revoked_all", "revoked by operator", nil)
}

// operatorOnAccount finds the account, runs change (when not nil), revokes
// every session of the account for reason, and records typ in each of its
// tenants, all in one unit.
func operatorOnAccount(ctx context.Context, st Store, email string, now time.Time, typ, reason string,
	change func(tx Store, act *OperatorAction) error,
) (*OperatorAction, error) {
	acct, err := st.FindAccountByEmail(ctx, email)
	if err != nil {
		return nil, notFoundAs(err, errNoAccount)
	}
	act := &OperatorAction{AccountID: acct.ID}
	auditor := Auditor{now: func() time.Time { return now }}
	err = st.Atomically(ctx, func(tx Store) error {
		act.Tenants = act.Tenants[:0]
		ms, err := tx.ListMemberships(ctx, acct.ID)
		if err != nil {
			return err
		}
		if change != nil {
			if err := change(tx, act); err != nil {
				return err
			}
		}
		if err := tx.RevokeAccountSessions(ctx, acct.ID, "", now, reason); err != nil {
			return err
		}
		for _, m := range ms {
			if err := auditor.Record(ctx, tx, RequestMeta{}, m.TenantID, OperatorActor, typ, acct.ID, nil); err != nil {
				return err
			}
			act.Tenants = append(act.Tenants, m.TenantID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return act, nil
}
