package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// productionEnviron is a production configuration that passes every
// posture rule: an explicit SQLite file, a strong random master key,
// separate loopback listeners, no pprof, no CORS, info logging.
func productionEnviron(t *testing.T, extra ...string) []string {
	t.Helper()
	return environFor(t, "production", append([]string{"RAMPART_SIGNUP=open"}, extra...)...)
}

// migrateCmd runs `rampart migrate <sub>` in-process and parses its last
// line, "schema version C of L (state)". It checks the exit code: 0 when
// the schema is current, exitSchemaPending when it is not.
func migrateCmd(t *testing.T, environ []string, sub string) (current, latest int64, line string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"rampart", "migrate", sub}, environ, &out, &errOut)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	line = lines[len(lines)-1]
	if _, err := fmt.Sscanf(line, "schema version %d of %d", &current, &latest); err != nil {
		t.Fatalf("migrate %s printed %q: %v\n%s", sub, out.String(), err, errOut.String())
	}
	want := 0
	if current != latest {
		want = exitSchemaPending
	}
	if code := exitCodeOf(err); code != want {
		t.Fatalf("migrate %s exits %d (%v) at version %d of %d, want %d", sub, code, err, current, latest, want)
	}
	return current, latest, line
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	return exitCode(err)
}

func TestMigrateCommandsAndProductionSchemaGate(t *testing.T) {
	env := productionEnviron(t, generousRates...)

	// The configuration itself is acceptable to production.
	var check, checkErr bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "config", "check"}, env, &check, &checkErr); err != nil {
		t.Fatalf("config check refuses the production test configuration: %v\n%s%s", err, check.String(), checkErr.String())
	}

	// A fresh file: nothing applied, and status does not apply anything.
	for range 2 {
		current, latest, line := migrateCmd(t, env, "status")
		if current != 0 || latest < 1 || !strings.Contains(line, "out of date") || !strings.Contains(line, "rampart migrate up") {
			t.Fatalf("status on a fresh database: %q, want version 0 of the latest, out of date", line)
		}
	}

	// Production does not serve an out-of-date schema, and says what to do.
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"rampart", "serve"}, env, &out, &errOut)
	if !errors.Is(err, errReported) {
		t.Fatalf("production served an out-of-date schema: %v", err)
	}
	if all := out.String() + errOut.String(); !strings.Contains(all, "run `rampart migrate up`") || strings.Contains(all, `"msg":"listening"`) {
		t.Errorf("refusal does not tell to run `rampart migrate up`, or it listened:\n%s", all)
	}
	// Nor does `keys rotate` write keys into a schema it would misread.
	out.Reset()
	errOut.Reset()
	if err := run(t.Context(), []string{"rampart", "keys", "rotate"}, env, &out, &errOut); err == nil ||
		!strings.Contains(err.Error()+errOut.String(), "rampart migrate up") {
		t.Errorf("keys rotate on an out-of-date schema: %v\n%s%s", err, out.String(), errOut.String())
	}
	if current, _, _ := migrateCmd(t, env, "status"); current != 0 {
		t.Errorf("the refused start or key rotation migrated the schema to %d", current)
	}

	// migrate up brings it to the latest version, saying what it applied;
	// status agrees.
	var upOut bytes.Buffer
	if err := run(t.Context(), []string{"rampart", "migrate", "up"}, env, &upOut, &upOut); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, &upOut)
	}
	current, latest, line := migrateCmd(t, env, "status")
	if current != latest || !strings.Contains(line, "(up to date)") {
		t.Fatalf("status after migrate up: %q", line)
	}
	for v := int64(1); v <= latest; v++ {
		if !strings.Contains(upOut.String(), fmt.Sprintf("applied migration %d\n", v)) {
			t.Errorf("migrate up does not say it applied migration %d:\n%s", v, &upOut)
		}
	}
	if _, _, line := migrateCmd(t, env, "status"); !strings.Contains(line, fmt.Sprintf("schema version %d of %d (up to date)", latest, latest)) {
		t.Errorf("status after migrate up: %q", line)
	}
	// Applying again is a no-op.
	upOut.Reset()
	if err := run(t.Context(), []string{"rampart", "migrate", "up"}, env, &upOut, &upOut); err != nil ||
		!strings.Contains(upOut.String(), "no migration to apply") || strings.Contains(upOut.String(), "applied migration") {
		t.Errorf("second migrate up: %v\n%s", err, &upOut)
	}

	// Now production serves, and the schema works.
	l, _, stop := startRun(t, env)
	base := "http://" + l.Addr
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("readyz after migrate up: %d %s", code, body)
	}
	if r := do(t, http.MethodPost, base+"/v1/signup", signupBody(uniqueEmail("migrated")), ""); r.code != http.StatusCreated {
		t.Errorf("signup after migrate up: %d %s", r.code, r.body)
	}
	if err := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
}

func TestProductionAutoMigrate(t *testing.T) {
	env := productionEnviron(t, append([]string{"RAMPART_AUTO_MIGRATE=true"}, generousRates...)...)
	if current, _, line := migrateCmd(t, env, "status"); current != 0 {
		t.Fatalf("fresh database: %q", line)
	}

	l, out, stop := startRun(t, env)
	if code, body := get(t, "http://"+l.Addr+"/readyz"); code != http.StatusOK {
		t.Errorf("readyz: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Errorf("run returned %v", err)
	}
	current, latest, line := migrateCmd(t, env, "status")
	if current != latest || !strings.Contains(line, "(up to date)") {
		t.Errorf("status after an auto-migrating start: %q", line)
	}
	if want := fmt.Sprintf(`"msg":"schema migrated","from":0,"to":%d`, latest); !strings.Contains(out.String(), want) {
		t.Errorf("the log does not say %s:\n%s", want, out)
	}
}
