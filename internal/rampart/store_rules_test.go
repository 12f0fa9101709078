package rampart_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// A time with nanoseconds and a zone, which stores keep as UTC microseconds.
var ruleTime = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+2", 2*3600))

// TestApplyUpdateKeepsImmutableFields has fn try to change every field that
// an update never changes, together with one it may change: only the latter
// changes, the times come out rounded, and before is the record as read.
func TestApplyUpdateKeepsImmutableFields(t *testing.T) {
	later := ruleTime.Add(time.Hour)

	u := &rampart.User{ID: "u1", TenantID: "t1", DisplayName: "Ada", CreatedAt: ruleTime, UpdatedAt: ruleTime}
	read := *u
	before, err := rampart.ApplyUpdate(u, func(u *rampart.User) error {
		u.ID, u.TenantID, u.CreatedAt = "u2", "t2", later
		u.DisplayName, u.UpdatedAt = "Grace", later
		return nil
	})
	mustRule(t, err)
	wantUser := rampart.User{ID: "u1", TenantID: "t1", DisplayName: "Grace", CreatedAt: rampart.Timestamp(ruleTime), UpdatedAt: rampart.Timestamp(later)}
	sameRecord(t, *u, wantUser)
	sameRecord(t, before, read)

	o := &rampart.Order{ID: "o1", TenantID: "t1", OwnerID: "u1", Note: "a", CreatedAt: ruleTime, UpdatedAt: ruleTime}
	_, err = rampart.ApplyUpdate(o, func(o *rampart.Order) error {
		o.ID, o.TenantID, o.OwnerID, o.CreatedAt = "o2", "t2", "u2", later
		o.Note = "b"
		return nil
	})
	mustRule(t, err)
	sameRecord(t, *o, rampart.Order{ID: "o1", TenantID: "t1", OwnerID: "u1", Note: "b", CreatedAt: rampart.Timestamp(ruleTime), UpdatedAt: rampart.Timestamp(ruleTime)})

	s := &rampart.Session{ID: "s1", TenantID: "t1", UserID: "u1", CreatedAt: ruleTime}
	_, err = rampart.ApplyUpdate(s, func(s *rampart.Session) error {
		s.ID, s.TenantID, s.UserID, s.CreatedAt = "s2", "t2", "u2", later
		s.RevokedAt, s.RevokedReason = later, "logout"
		return nil
	})
	mustRule(t, err)
	sameRecord(t, *s, rampart.Session{ID: "s1", TenantID: "t1", UserID: "u1", CreatedAt: rampart.Timestamp(ruleTime), RevokedAt: rampart.Timestamp(later), RevokedReason: "logout"})
}

// TestApplyUpdateReturnsFnError returns fn's error as it is, so that a
// store aborts the update with it.
func TestApplyUpdateReturnsFnError(t *testing.T) {
	errStop := errors.New("stop")
	_, err := rampart.ApplyUpdate(&rampart.Order{ID: "o1"}, func(*rampart.Order) error { return errStop })
	if err != errStop {
		t.Fatalf("got %v, want the error fn returned", err)
	}
}

func TestRemovesAdmin(t *testing.T) {
	admin, member := &rampart.User{Role: rampart.RoleAdmin}, &rampart.User{Role: rampart.RoleMember}
	if !rampart.RemovesAdmin(admin, member) || rampart.RemovesAdmin(admin, admin) || rampart.RemovesAdmin(member, member) || rampart.RemovesAdmin(member, admin) {
		t.Error("rampart.RemovesAdmin is true exactly for an admin made a member")
	}
	if rampart.ErrorKind(rampart.LastAdminError()) != rampart.KindConflict {
		t.Error("rampart.LastAdminError is not a Conflict")
	}
}

func TestRoundTimes(t *testing.T) {
	k := &rampart.APIKey{CreatedAt: ruleTime, ExpiresAt: ruleTime}
	e := &rampart.AuditEvent{Time: ruleTime}
	rampart.RoundTimes(k, e)
	if k.CreatedAt != rampart.Timestamp(ruleTime) || k.ExpiresAt != rampart.Timestamp(ruleTime) || !k.RevokedAt.IsZero() || e.Time != rampart.Timestamp(ruleTime) {
		t.Errorf("rampart.RoundTimes left %v, %v, %v, %v", k.CreatedAt, k.ExpiresAt, k.RevokedAt, e.Time)
	}
}

func mustRule(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameRecord[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
