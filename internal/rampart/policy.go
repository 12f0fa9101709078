package rampart

import (
	"fmt"
	"slices"
)

// Action is something a principal asks to do. The policy table below says
// who may do each one, and how far that reaches; Authorize applies it.
type Action string

const (
	// ActionAccount is a user's own account: profile, password, second
	// factor, sessions and sign-out. API keys are not user authentication
	// and never reach it (security baseline KEY-02).
	ActionAccount Action = "account"

	ActionOrderRead   Action = "order.read"
	ActionOrderCreate Action = "order.create"
	ActionOrderUpdate Action = "order.update" // change the note, cancel
	ActionOrderFulfil Action = "order.fulfil"
	ActionOrderDelete Action = "order.delete"

	ActionUserRead  Action = "user.read"
	ActionUserWrite Action = "user.write" // create, rename and delete members
	// ActionUserAdmin is handing out or taking away the admin role:
	// creating, promoting, demoting or deleting an admin. Only an admin who
	// signed in may, never an API key, so that no key's scopes can be
	// turned into an admin's.
	ActionUserAdmin Action = "user.admin"

	// ActionAPIKeyManage is creating, listing and revoking API keys. Keys
	// cannot manage keys (KEY-02).
	ActionAPIKeyManage Action = "apikey.manage"
	ActionAuditRead    Action = "audit.read"
)

// API-key scopes. A key may do what its scopes grant, across its tenant,
// and nothing else.
const (
	ScopeOrdersRead  = "orders:read"
	ScopeOrdersWrite = "orders:write"
	ScopeUsersRead   = "users:read"
	ScopeUsersWrite  = "users:write"
	ScopeAuditRead   = "audit:read"
)

// Scopes lists every API-key scope.
func Scopes() []string {
	return []string{ScopeOrdersRead, ScopeOrdersWrite, ScopeUsersRead, ScopeUsersWrite, ScopeAuditRead}
}

// reach is how far a permission extends.
type reach int8

const (
	denied reach = iota
	own          // the objects the principal owns (an order's owner)
	tenant       // every object of the principal's tenant
)

// rule says who may perform an action: users by role, and API keys by one
// scope, which always reaches the whole tenant.
type rule struct {
	member, admin reach
	scope         string // "" means no API key may
}

// policy is the whole authorization model on one page. An action missing
// here is denied to everyone.
var policy = map[Action]rule{
	ActionAccount: {member: own, admin: own},

	ActionOrderRead:   {member: own, admin: tenant, scope: ScopeOrdersRead},
	ActionOrderCreate: {member: own, admin: own, scope: ScopeOrdersWrite},
	ActionOrderUpdate: {member: own, admin: tenant, scope: ScopeOrdersWrite},
	ActionOrderFulfil: {member: denied, admin: tenant, scope: ScopeOrdersWrite},
	ActionOrderDelete: {member: own, admin: tenant, scope: ScopeOrdersWrite},

	ActionUserRead:  {member: denied, admin: tenant, scope: ScopeUsersRead},
	ActionUserWrite: {member: denied, admin: tenant, scope: ScopeUsersWrite},
	ActionUserAdmin: {member: denied, admin: tenant},

	ActionAPIKeyManage: {member: denied, admin: tenant},
	ActionAuditRead:    {member: denied, admin: tenant, scope: ScopeAuditRead},
}

// KnownAction reports whether a is in the policy table.
func KnownAction(a Action) bool {
	_, ok := policy[a]
	return ok
}

// Resource is an object an action applies to, as far as authorization
// cares: its tenant and, for owned objects, its owner.
type Resource struct {
	Kind     string // "order", "user", "API key": names it in the NotFound error
	TenantID string
	OwnerID  string // the user or API key that owns it; "" when nobody does
}

var (
	errNoPrincipal = &Error{Kind: KindUnauthenticated, Message: "authentication is required"}
	errForbidden   = &Error{Kind: KindForbidden, Message: "you are not allowed to do this"}
)

// notFound is the one answer for an object that is absent, another
// tenant's or another owner's, so that the three cannot be told apart.
func notFound(kind string) error {
	return Errorf(KindNotFound, "%s not found", kind)
}

// Authorize decides whether p may perform a on the given resources (none
// for a check of the function alone). It is pure: the caller loads the
// resources, scoped to p's tenant, and calls it before acting on them.
//
// The function is checked first and does not depend on the resources, so a
// KindForbidden answer says nothing about whether an object exists. A
// resource of another tenant, or, where p's reach is its own objects, of
// another owner, is KindNotFound, exactly as if it did not exist. A
// principal that is neither a user nor an API key is KindUnauthenticated.
func Authorize(p Principal, a Action, resources ...Resource) error {
	r, err := reachOf(p, a)
	if err != nil {
		return err
	}
	for _, res := range resources {
		if res.TenantID != p.TenantID || (r == own && res.OwnerID != actorID(p)) {
			return notFound(res.Kind)
		}
	}
	return nil
}

func reachOf(p Principal, a Action) (reach, error) {
	if p.TenantID == "" || (p.UserID == "") == (p.APIKeyID == "") {
		return denied, errNoPrincipal
	}
	rl := policy[a] // the zero rule denies everyone
	r := denied
	switch {
	case p.APIKeyID != "":
		if rl.scope != "" && slices.Contains(p.Scopes, rl.scope) {
			r = tenant
		}
	case p.Role == RoleMember:
		r = rl.member
	case p.Role == RoleAdmin:
		r = rl.admin
	}
	if r == denied {
		return denied, forbidden(p, rl)
	}
	return r, nil
}

// forbidden says what would have been enough, so that the client can act:
// the scope a key lacks (the edge also names it in an RFC 6750
// insufficient_scope challenge), or the role a user lacks. The policy is
// public (api.md), so naming its requirement reveals nothing.
func forbidden(p Principal, rl rule) error {
	switch {
	case p.APIKeyID != "" && rl.scope != "":
		return &Error{Kind: KindForbidden, Scope: rl.scope,
			Message: fmt.Sprintf("this API key lacks the scope %q", rl.scope)}
	case p.APIKeyID != "" && (rl.member != denied || rl.admin != denied):
		return &Error{Kind: KindForbidden, Message: "API keys cannot do this; it needs a signed-in user"}
	case p.Role == RoleMember && rl.admin != denied:
		return &Error{Kind: KindForbidden, Message: fmt.Sprintf("this needs the %s role", RoleAdmin)}
	}
	return errForbidden
}

// ownOnly reports whether p's permission for a reaches only p's own
// objects, so that listings must be narrowed to them. Call it after
// Authorize has allowed a.
func ownOnly(p Principal, a Action) bool {
	r, err := reachOf(p, a)
	return err == nil && r == own
}

// actorID is who acts for p: the user, or the API key.
func actorID(p Principal) string {
	if p.APIKeyID != "" {
		return p.APIKeyID
	}
	return p.UserID
}
