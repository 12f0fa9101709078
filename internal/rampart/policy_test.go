package rampart

import (
	"slices"
	"strings"
	"testing"
)

func TestAuthorize(t *testing.T) {
	const tenantA, tenantB = "tenant-a", "tenant-b"
	member := Principal{TenantID: tenantA, UserID: "alice", Role: RoleMember, SessionID: "s1"}
	admin := Principal{TenantID: tenantA, UserID: "root", Role: RoleAdmin, SessionID: "s2"}
	key := func(scopes ...string) Principal {
		return Principal{TenantID: tenantA, APIKeyID: "key-1", Scopes: scopes}
	}

	aliceOrder := Resource{Kind: "order", TenantID: tenantA, OwnerID: "alice"}
	bobOrder := Resource{Kind: "order", TenantID: tenantA, OwnerID: "bob"}
	keyOrder := Resource{Kind: "order", TenantID: tenantA, OwnerID: "key-1"}
	otherTenantOrder := Resource{Kind: "order", TenantID: tenantB, OwnerID: "alice"}
	user := Resource{Kind: "user", TenantID: tenantA}
	otherTenantUser := Resource{Kind: "user", TenantID: tenantB}

	F, N, U := KindForbidden, KindNotFound, KindUnauthenticated
	const ok = Kind(-1)
	tests := []struct {
		name string
		p    Principal
		a    Action
		res  []Resource
		want Kind
	}{
		// Functions by role.
		{"member: account", member, ActionAccount, nil, ok},
		{"member: read orders", member, ActionOrderRead, nil, ok},
		{"member: create orders", member, ActionOrderCreate, nil, ok},
		{"member: fulfil", member, ActionOrderFulfil, nil, F},
		{"member: read users", member, ActionUserRead, nil, F},
		{"member: write users", member, ActionUserWrite, nil, F},
		{"member: grant admin", member, ActionUserAdmin, nil, F},
		{"member: API keys", member, ActionAPIKeyManage, nil, F},
		{"member: audit", member, ActionAuditRead, nil, F},
		{"admin: account", admin, ActionAccount, nil, ok},
		{"admin: fulfil", admin, ActionOrderFulfil, nil, ok},
		{"admin: users", admin, ActionUserWrite, nil, ok},
		{"admin: grant admin", admin, ActionUserAdmin, nil, ok},
		{"admin: API keys", admin, ActionAPIKeyManage, nil, ok},
		{"admin: audit", admin, ActionAuditRead, nil, ok},
		{"unknown role", Principal{TenantID: tenantA, UserID: "x", Role: "owner"}, ActionOrderRead, nil, F},
		{"unknown action", admin, Action("order.teleport"), nil, F},

		// Functions by scope.
		{"key: account, every scope", key(Scopes()...), ActionAccount, nil, F},
		{"key: API keys, every scope", key(Scopes()...), ActionAPIKeyManage, nil, F},
		{"key: grant admin, every scope", key(Scopes()...), ActionUserAdmin, nil, F},
		{"key orders:read: read", key(ScopeOrdersRead), ActionOrderRead, nil, ok},
		{"key orders:read: create", key(ScopeOrdersRead), ActionOrderCreate, nil, F},
		{"key orders:write: create", key(ScopeOrdersWrite), ActionOrderCreate, nil, ok},
		{"key orders:write: read", key(ScopeOrdersWrite), ActionOrderRead, nil, F},
		{"key orders:write: fulfil", key(ScopeOrdersWrite), ActionOrderFulfil, nil, ok},
		{"key users:read: read", key(ScopeUsersRead), ActionUserRead, nil, ok},
		{"key users:read: write", key(ScopeUsersRead), ActionUserWrite, nil, F},
		{"key users:write: write", key(ScopeUsersWrite), ActionUserWrite, nil, ok},
		{"key audit:read", key(ScopeAuditRead), ActionAuditRead, nil, ok},
		{"key, no scopes", key(), ActionOrderRead, nil, F},
		{"key, made-up scope", key("orders:*"), ActionOrderRead, nil, F},

		// Objects: tenant first, then ownership where the reach is one's own.
		{"member: own order", member, ActionOrderRead, []Resource{aliceOrder}, ok},
		{"member: another's order", member, ActionOrderRead, []Resource{bobOrder}, N},
		{"member: another tenant's order", member, ActionOrderUpdate, []Resource{otherTenantOrder}, N},
		{"member: fulfil own order", member, ActionOrderFulfil, []Resource{aliceOrder}, F},
		{"member: fulfil another tenant's order", member, ActionOrderFulfil, []Resource{otherTenantOrder}, F},
		{"admin: a member's order", admin, ActionOrderDelete, []Resource{bobOrder}, ok},
		{"admin: another tenant's order", admin, ActionOrderRead, []Resource{otherTenantOrder}, N},
		{"admin: a user", admin, ActionUserWrite, []Resource{user}, ok},
		{"admin: another tenant's user", admin, ActionUserRead, []Resource{otherTenantUser}, N},
		{"key: any order of its tenant", key(ScopeOrdersRead), ActionOrderRead, []Resource{bobOrder}, ok},
		{"key: its own order", key(ScopeOrdersWrite), ActionOrderUpdate, []Resource{keyOrder}, ok},
		{"key: another tenant's order", key(ScopeOrdersRead), ActionOrderRead, []Resource{otherTenantOrder}, N},
		{"several resources, one foreign", admin, ActionUserRead, []Resource{user, otherTenantUser}, N},

		// Not a principal at all.
		{"anonymous", Principal{}, ActionOrderRead, nil, U},
		{"no tenant", Principal{UserID: "alice", Role: RoleAdmin}, ActionOrderRead, nil, U},
		{"user and key at once", Principal{TenantID: tenantA, UserID: "alice", Role: RoleAdmin, APIKeyID: "k", Scopes: Scopes()}, ActionOrderRead, nil, U},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.p, tt.a, tt.res...)
			switch {
			case tt.want == ok && err != nil:
				t.Fatalf("got %v, want allowed", err)
			case tt.want != ok && (err == nil || ErrorKind(err) != tt.want):
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPolicyTable checks the table's shape: every action is somebody's,
// no API key reaches the account or key management, and every scope grants
// something.
func TestPolicyTable(t *testing.T) {
	granted := map[string]bool{}
	for a, r := range policy {
		if r.member == denied && r.admin == denied && r.scope == "" {
			t.Errorf("%s: nobody may", a)
		}
		if r.scope != "" {
			if !slices.Contains(Scopes(), r.scope) {
				t.Errorf("%s: unknown scope %q", a, r.scope)
			}
			granted[r.scope] = true
		}
	}
	for _, a := range []Action{ActionAccount, ActionAPIKeyManage, ActionUserAdmin} {
		if policy[a].scope != "" {
			t.Errorf("%s: an API key may", a)
		}
	}
	for _, s := range Scopes() {
		if !granted[s] {
			t.Errorf("scope %s grants nothing", s)
		}
	}
}

func TestAPIKeyFormat(t *testing.T) {
	id := NewID()
	key := newAPIKey(id)
	if len(key) != apiKeyLen || !strings.HasPrefix(key, "rk_"+strings.ReplaceAll(id, "-", "")+"_") {
		t.Fatalf("key %q", key)
	}
	got, ok := parseAPIKey(key)
	if !ok || got != id {
		t.Fatalf("parse: %q %v, want %q", got, ok, id)
	}
	if newAPIKey(id) == key {
		t.Error("two keys with the same id are equal")
	}
	// Any one changed character breaks the checksum or the form.
	for i := range key {
		for _, c := range []byte{'a', '7', 'z', '_', 'A'} {
			if key[i] == c {
				continue
			}
			bad := key[:i] + string(c) + key[i+1:]
			if _, ok := parseAPIKey(bad); ok {
				t.Errorf("accepted %q (position %d)", bad, i)
			}
		}
	}
	for _, bad := range []string{"", "rk_", key[:len(key)-1], key + "a", strings.ToUpper(key), "rt_" + key[3:]} {
		if _, ok := parseAPIKey(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestValidID(t *testing.T) {
	if !ValidID(NewID()) {
		t.Error("a new id is not valid")
	}
	for _, bad := range []string{"", "x", strings.ToUpper(NewID()), NewID() + " ", "{" + NewID()[1:], strings.ReplaceAll(NewID(), "-", "_"),
		"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400\x00"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}

// A refusal says what would have been enough, for every action in the
// table: the scope a key lacks, or the role a member lacks.
func TestForbiddenNamesWhatWouldAllow(t *testing.T) {
	member := Principal{TenantID: "t", UserID: "u", Role: RoleMember}
	bareKey := Principal{TenantID: "t", APIKeyID: "k"}
	for a, rl := range policy {
		e := ErrorOf(Authorize(bareKey, a))
		if e == nil || e.Kind != KindForbidden || e.Scope != rl.scope {
			t.Errorf("%s by a key without scopes: %+v, want forbidden naming %q", a, e, rl.scope)
		} else if rl.scope != "" && !strings.Contains(e.Message, rl.scope) {
			t.Errorf("%s by a key without scopes: message %q does not name %s", a, e.Message, rl.scope)
		}
		if rl.member == denied && rl.admin != denied {
			if e := ErrorOf(Authorize(member, a)); e == nil || !strings.Contains(e.Message, "admin role") || e.Scope != "" {
				t.Errorf("%s by a member: %+v, want the admin role named", a, e)
			}
		}
	}
}
