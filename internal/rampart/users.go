package rampart

import (
	"context"
)

// UserUpdate is what an admin may change on a user; nil leaves a field as
// it is.
type UserUpdate struct {
	DisplayName *string
	Role        *Role
}

func (u *User) resource() Resource {
	return Resource{Kind: "user", TenantID: u.TenantID}
}

var (
	errLastAdmin = &Error{Kind: KindConflict, Code: CodeLastAdmin,
		Message: "a tenant must keep at least one admin"}
	errOwnRole = &Error{Kind: KindForbidden, Code: CodeOwnRole,
		Message: "you cannot change your own role"}
)

// lastAdminConflict is errLastAdmin wrapping the store's conflict err.
func lastAdminConflict(err error) error {
	return &Error{Kind: KindConflict, Code: errLastAdmin.Code, Message: errLastAdmin.Message, Err: err}
}

func checkRole(r Role) error {
	if r != RoleMember && r != RoleAdmin {
		return &Error{Kind: KindInvalid, Field: "role", Message: "must be one of: member, admin"}
	}
	return nil
}

// ListUsers lists p's tenant's users, newest first.
func (s *Resources) ListUsers(ctx context.Context, p Principal, page Page) ([]*User, Cursor, error) {
	if err := Authorize(p, ActionUserRead); err != nil {
		return nil, Cursor{}, err
	}
	return s.store.ListUsers(ctx, p.TenantID, page)
}

// GetUser returns a user of p's tenant.
func (s *Resources) GetUser(ctx context.Context, p Principal, id string) (*User, error) {
	if err := Authorize(p, ActionUserRead); err != nil {
		return nil, err
	}
	return s.getUser(ctx, p, ActionUserRead, id)
}

func (s *Resources) getUser(ctx context.Context, p Principal, a Action, id string) (*User, error) {
	if !ValidID(id) {
		return nil, notFound("user")
	}
	u, err := s.store.GetUser(ctx, p.TenantID, id)
	if err != nil {
		return nil, notFoundAs(err, notFound("user"))
	}
	if err := Authorize(p, a, u.resource()); err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser renames a user or changes their role. A role change needs
// ActionUserAdmin, is refused on oneself (an admin cannot demote
// themselves by accident, nor a compromised session lock the others out),
// and revokes the user's sessions, since their access tokens carry the old
// role. Demoting the tenant's last admin is a Conflict.
func (s *Resources) UpdateUser(ctx context.Context, meta RequestMeta, p Principal, id string, in UserUpdate) (*User, error) {
	if err := Authorize(p, ActionUserWrite); err != nil {
		return nil, err
	}
	if in.Role != nil {
		if err := checkRole(*in.Role); err != nil {
			return nil, err
		}
		if err := Authorize(p, ActionUserAdmin); err != nil {
			return nil, err
		}
	}
	if !ValidID(id) {
		return nil, notFound("user")
	}
	var before Role
	now := s.now()
	update := func(u *User) error {
		if err := Authorize(p, ActionUserWrite, u.resource()); err != nil {
			return err
		}
		before = u.Role
		if in.Role != nil && *in.Role != u.Role {
			// Changing a role is a step-up change; renaming is not, and
			// sending the current role changes nothing.
			if err := s.stepUp.RequireStepUp(p); err != nil {
				return err
			}
			if u.ID == p.UserID {
				return errOwnRole
			}
			u.Role = *in.Role
		}
		if in.DisplayName != nil {
			u.DisplayName = *in.DisplayName
		}
		u.UpdatedAt = now
		return nil
	}
	var u *User
	err := s.store.Atomically(ctx, func(tx Store) error {
		var err error
		u, err = tx.UpdateUser(ctx, p.TenantID, id, update)
		switch ErrorKind(err) {
		case KindNotFound:
			return notFound("user")
		case KindConflict:
			// The email does not change here, so the conflict is the last admin.
			return lastAdminConflict(err)
		}
		if err != nil || u.Role == before {
			return err
		}
		if err := tx.RevokeUserSessions(ctx, p.TenantID, u.ID, "", now, "role changed"); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p, "user.role_changed", u.ID,
			map[string]string{"from": string(before), "to": string(u.Role)})
	})
	if err != nil {
		return nil, err
	}
	if u.Role != before {
		s.events.record(ctx, meta, EventPrivilegeChange, p.TenantID, actorID(p), "role changed")
	}
	return u, nil
}

// DeleteUser removes a user and their sessions. Deleting an admin needs
// ActionUserAdmin; deleting the tenant's last admin is a Conflict.
func (s *Resources) DeleteUser(ctx context.Context, meta RequestMeta, p Principal, id string) error {
	if err := Authorize(p, ActionUserWrite); err != nil {
		return err
	}
	u, err := s.getUser(ctx, p, ActionUserWrite, id)
	if err != nil {
		return err
	}
	if u.Role == RoleAdmin {
		if err := Authorize(p, ActionUserAdmin, u.resource()); err != nil {
			return err
		}
	}
	err = s.store.Atomically(ctx, func(tx Store) error {
		switch err := tx.DeleteUser(ctx, p.TenantID, u.ID); ErrorKind(err) {
		case KindNotFound:
			return notFound("user")
		case KindConflict:
			return lastAdminConflict(err)
		default:
			if err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, meta, p, "user.deleted", u.ID, map[string]string{"role": string(u.Role)})
	})
	if err == nil {
		s.events.record(ctx, meta, EventAdminAction, p.TenantID, actorID(p), "user deleted")
	}
	return err
}
