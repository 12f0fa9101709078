package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json/v2"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/logging"
	"example.com/rampart/internal/rampart"
	"example.com/rampart/internal/testutil"
)

// forEachDatabase runs fn with a test configuration on SQLite and one on
// a throwaway PostgreSQL database.
func forEachDatabase(t *testing.T, fn func(t *testing.T, env []string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testEnviron(t, generousRates...)) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, setEnv(testEnviron(t, generousRates...), "RAMPART_DATABASE_URL="+testutil.PostgresURL(t)))
	})
}

// execDatabase runs q on env's database directly, as the database's owner
// could behind the server's back.
func execDatabase(t *testing.T, env []string, q string) {
	t.Helper()
	for _, kv := range env {
		url, ok := strings.CutPrefix(kv, "RAMPART_DATABASE_URL=")
		if !ok {
			continue
		}
		if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
			return
		}
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("no RAMPART_DATABASE_URL")
}

// verify runs `rampart auditlog verify` with args.
func verify(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), append([]string{"rampart", "auditlog", "verify"}, args...), env, &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestAuditCheckpointsCatchTruncationAndRewrite runs the server with a
// checkpoint file, makes four audited changes,
// and checks that each was exported to the log and the file. It then
// deletes the newest event behind the server's back, which the chain alone
// cannot show, and `auditlog verify --checkpoints` names the tenant and
// seq; appending a different event in its place is caught as a rewrite.
func TestAuditCheckpointsCatchTruncationAndRewrite(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, env []string) {
		file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
		env = append(env, "RAMPART_AUDIT_CHECKPOINT_PATH="+file)
		l, out, stop := startRun(t, env)
		base := "http://" + l.Addr
		email := uniqueEmail("checkpoint")
		if r := do(t, http.MethodPost, base+"/v1/signup", signupBody(email), ""); r.code != http.StatusCreated {
			t.Fatalf("signup: %d %s", r.code, r.body)
		}
		token, r := login(t, base, email) // event 2
		if token == "" {
			t.Fatalf("login: %d %s", r.code, r.body)
		}
		var tenantID string
		for range 2 { // events 3 and 4
			r := do(t, http.MethodPost, base+"/v1/orders", map[string]any{"items": []map[string]any{{"sku": "A-1", "quantity": 1}}}, token)
			var o struct {
				TenantID string `json:"tenantId"`
			}
			if r.code != http.StatusCreated || json.Unmarshal([]byte(r.body), &o) != nil {
				t.Fatalf("order: %d %s", r.code, r.body)
			}
			tenantID = o.TenantID
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}

		logged := 0
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			var line struct {
				Msg    string `json:"msg"`
				Tenant string `json:"tenant"`
				Seq    int64  `json:"seq"`
				Hash   string `json:"hash"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "audit checkpoint" && line.Tenant == tenantID && line.Hash != "" {
				logged++
			}
		}
		written, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if logged != 4 || strings.Count(string(written), "\n") != 4 {
			t.Fatalf("%d checkpoints logged and %d written for 4 audited changes, want 4 and 4:\n%s", logged,
				strings.Count(string(written), "\n"), written)
		}
		if got, err := verify(t, env, "--checkpoints", file); err != nil || !strings.Contains(got, "head seq 4") ||
			!strings.Contains(got, "against 4 checkpoints") {
			t.Fatalf("untouched: %v\n%s", err, got)
		}

		execDatabase(t, env, "DELETE FROM audit_events WHERE tenant_id = '"+tenantID+"' AND seq = 4")
		if got, err := verify(t, env); err != nil {
			t.Fatalf("without checkpoints the truncated chain should still verify (that is the defect): %v\n%s", err, got)
		}
		got, err := verify(t, env, "--checkpoints", file)
		if !errors.Is(err, errChainBroken) || !strings.Contains(got, "BROKEN tenant "+tenantID+" at seq 4") ||
			!strings.Contains(got, "events were deleted") {
			t.Fatalf("truncated: %v\n%s", err, got)
		}

		st, err := openStore(t.Context(), mustLoad(t, env))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		forged := &rampart.AuditEvent{ID: rampart.NewID(), TenantID: tenantID, Time: time.Now(), Type: "order.created"}
		if err := st.AppendAuditEvent(t.Context(), forged); err != nil || forged.Seq != 4 {
			t.Fatalf("forged event: seq %d, %v", forged.Seq, err)
		}
		got, err = verify(t, env, "--checkpoints", file)
		if !errors.Is(err, errChainBroken) || !strings.Contains(got, "BROKEN tenant "+tenantID+" at seq 4") ||
			!strings.Contains(got, "rewritten") {
			t.Fatalf("rewritten: %v\n%s", err, got)
		}

		bad := filepath.Join(t.TempDir(), "bad.jsonl")
		if err := os.WriteFile(bad, append(written, "not json\n"...), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := verify(t, env, "--checkpoints", bad); err == nil || !strings.Contains(err.Error(), "bad.jsonl:5") {
			t.Errorf("a damaged checkpoint file: %v\n%s", err, got)
		}
	})
}

func mustLoad(t *testing.T, env []string) Config {
	t.Helper()
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestCheckpointsAreLoggedAtAnyLevel: a log level that drops info lines
// must not drop checkpoints, which are records rather than diagnostics.
func TestCheckpointsAreLoggedAtAnyLevel(t *testing.T) {
	var out bytes.Buffer
	x, err := openCheckpointExporter(Config{}, logging.New(&out, slog.LevelError))
	if err != nil {
		t.Fatal(err)
	}
	x.AuditCheckpoint(t.Context(), rampart.AuditCheckpoint{TenantID: "t-1", Seq: 7, Hash: []byte{0xab, 0xcd}, Time: time.Now()})
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if line["msg"] != "audit checkpoint" || line["tenant"] != "t-1" || line["seq"] != float64(7) || line["hash"] != "abcd" {
		t.Errorf("checkpoint line %v", line)
	}
}
