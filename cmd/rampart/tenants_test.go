package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var inviteLinkRE = regexp.MustCompile(`/invitations/accept#token=(rpl_[A-Za-z0-9_-]{49})`)

// TestTenantsCreate: `rampart tenants create` makes a tenant and invites
// its first admin; the running server's sender writes the mail (.eml, as
// in development); accepting it with a password makes the first member, an
// admin, who signs in. The command prints ids and where the mail went,
// never the link.
func TestTenantsCreate(t *testing.T) {
	env := testEnviron(t, generousRates...)
	l, logs, _ := startRun(t, env)
	base := "http://" + l.Addr
	dataDir := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RAMPART_DATA_DIR="); ok {
			dataDir = v
		}
	}
	email := uniqueEmail("first-admin")

	var out bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "tenants", "create", "--name", "Difference Engines", "--admin-email", email}, env, &out, &out); err != nil {
		t.Fatalf("tenants create: %v\n%s", err, &out)
	}
	printed := out.String()
	if !strings.Contains(printed, "invitation ") || !strings.Contains(printed, email) ||
		!strings.Contains(printed, "eml files in "+filepath.Join(dataDir, "mail")) || strings.Contains(printed, "rpl_") {
		t.Errorf("tenants create printed:\n%s", printed)
	}

	// The running server's sender finds the queued message at its next
	// poll (5 s; the command cannot wake it).
	token, err := invitationToken(filepath.Join(dataDir, "mail"), email, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", base+"/v1/invitations/accept", map[string]string{"token": token, "password": testPassphrase}, "")
	if r.code != 201 {
		t.Fatalf("accept: %d %s", r.code, r.body)
	}
	access, lr := login(t, base, email)
	if access == "" {
		t.Fatalf("login: %d %s", lr.code, lr.body)
	}
	me := do(t, "GET", base+"/v1/me", nil, access)
	var got struct {
		Role        string `json:"role"`
		Memberships []struct {
			TenantName string `json:"tenantName"`
		} `json:"memberships"`
	}
	if err := json.Unmarshal([]byte(me.body), &got); err != nil || got.Role != "admin" || len(got.Memberships) != 1 ||
		got.Memberships[0].TenantName != "Difference Engines" {
		t.Errorf("me: %d %s", me.code, me.body)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the server's log carries the link token")
	}

	for _, args := range [][]string{
		{"tenants"}, {"tenants", "create", "--name", "X"}, {"tenants", "create", "--admin-email", email},
		{"tenants", "delete"}, {"tenants", "create", "--name", "N", "--admin-email", email, "--role", "member"},
	} {
		if err := run(t.Context(), append([]string{"rampart"}, args...), env, &out, &out); exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := run(t.Context(), []string{"rampart", "tenants", "create", "--name", "N", "--admin-email", "not an address"}, env, &out, &out); exitCode(err) != 1 {
		t.Errorf("a bad address: %v, want exit 1", err)
	}
}

// mailBody is the text of an RFC 5322 message, as a mail client reads it.
func mailBody(raw []byte) (string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	var body io.Reader = msg.Body
	if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}

// invitationToken waits up to within for the .eml file in dir that invites
// email, as development's mail transport writes it, and returns its link
// token.
func invitationToken(dir, email string, within time.Duration) (string, error) {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil || !strings.Contains(string(raw), email) {
				continue
			}
			body, err := mailBody(raw)
			if err != nil {
				return "", err
			}
			if m := inviteLinkRE.FindStringSubmatch(body); m != nil {
				return m[1], nil
			}
		}
	}
	return "", fmt.Errorf("no invitation mail to %s in %s within %v", email, dir, within)
}
