package main

import (
	"bufio"
	"encoding/json/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/rampart/internal/testutil"
	"example.com/rampart/internal/testutil/tcpproxy"
)

// Files the operator deploys: every metric they name must be one a running
// server exports.
var (
	alertRulesFile = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
	dashboardFile  = filepath.Join("..", "..", "deploy", "grafana", "rampart.json")
)

// notExportedYet are names the deploy files may use that /metrics does not
// show. Each entry says why and when it goes away.
var notExportedYet = map[string]string{
	// Prometheus makes up for every scrape target; no server exports it.
	"up": "made by Prometheus",
}

// metricName finds the metric names in a PromQL expression: the project's
// own (rampart_) and the Go and process collectors' (go_, process_), plus
// Prometheus's up. Label names, functions and keywords never start so.
var metricName = regexp.MustCompile(`\b(?:(?:rampart|go|process)_[a-zA-Z0-9_:]+|up)\b`)

// TestDeployedMonitoringNamesOnlyExportedMetrics starts the real server
// (SQLite and Redis, so the Redis-only metrics show too), reads its admin
// /metrics and checks that every metric named by every alert rule and every
// dashboard query is there.
//
// A family counts as exported when /metrics shows its TYPE line; no label
// combination is required. The request counter's labels (route x method x
// code) are open-ended, and creating every combination at start would mint
// thousands of zero series; the rules are written so that an absent series
// means "no alert" (a ratio or rate of nothing is empty). A labelled family
// shows once it has one series, so the test makes one request first, as any
// live server's probes do. Unlabelled metrics (the gauges, the hasher's) are
// there from start with their value.
func TestDeployedMonitoringNamesOnlyExportedMetrics(t *testing.T) {
	redisClient, prefix := testutil.Redis(t)
	l, _, _ := startRun(t, testEnviron(t, "RAMPART_REDIS_URL=redis://"+redisClient.Options().Addr+"/0",
		"RAMPART_REDIS_PREFIX="+prefix))
	if code, _ := get(t, "http://"+l.Addr+"/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	code, body := get(t, "http://"+l.AdminAddr+"/metrics")
	if code != 200 {
		t.Fatalf("admin /metrics: %d", code)
	}
	families := metricFamilies(body)

	refs := alertRuleExpressions(t)
	refs = append(refs, dashboardExpressions(t)...)
	for _, ref := range refs {
		names := metricName.FindAllString(ref.expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: no metric name recognised in %q", ref.where, ref.expr)
		}
		for _, missing := range unexported(families, names) {
			t.Errorf("%s: %s is not exported by the server (expression %q)", ref.where, missing, ref.expr)
		}
	}
	for name, why := range notExportedYet {
		if _, ok := families[name]; ok {
			t.Logf("%s is exported now: drop it from notExportedYet (%s)", name, why)
		}
	}
}

// TestUnexportedCatchesMisspeltNames shows the check above can fail: a
// misspelt family, a histogram suffix on a non-histogram and an unknown
// name are reported; exported ones, histogram series and the exceptions
// are not.
func TestUnexportedCatchesMisspeltNames(t *testing.T) {
	families := metricFamilies("# TYPE rampart_http_requests_total counter\n" +
		"# TYPE rampart_http_request_duration_seconds histogram\n# TYPE rampart_ready gauge\n")
	expr := `sum(rate(rampart_http_request_total[5m])) + rampart_ready_count + rampart_nothing ` +
		`+ rampart_http_requests_total + rampart_http_request_duration_seconds_bucket + up`
	got := unexported(families, metricName.FindAllString(expr, -1))
	want := []string{"rampart_http_request_total", "rampart_ready_count", "rampart_nothing"}
	if !slices.Equal(got, want) {
		t.Errorf("unexported = %q, want %q", got, want)
	}
}

// metricFamilies maps each family on a text-format /metrics page to its type.
func metricFamilies(page string) map[string]string {
	families := make(map[string]string)
	for line := range strings.Lines(page) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = f[3]
		}
	}
	return families
}

// unexported lists the names that are neither a family, a histogram's or
// summary's _bucket/_sum/_count series, nor in notExportedYet.
func unexported(families map[string]string, names []string) []string {
	var missing []string
	for _, name := range names {
		if _, ok := families[name]; ok {
			continue
		}
		if _, ok := notExportedYet[name]; ok {
			continue
		}
		found := false
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				typ := families[base]
				found = found || (typ == "histogram" || typ == "summary") && (suffix != "_bucket" || typ == "histogram")
			}
		}
		if !found {
			missing = append(missing, name)
		}
	}
	return missing
}

type expression struct{ where, expr string }

// alertRuleExpressions reads every rule's expr from alerts.yml, one line or
// a "|" block. The repository has no YAML parser and needs none for one
// file it writes itself; the count of expressions is checked against the
// count of rules so that a form this reader misses fails the test.
func alertRuleExpressions(t *testing.T) []expression {
	t.Helper()
	f, err := os.Open(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []expression
	var rules int
	var alert string
	block, blockIndent := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if block {
			if trimmed != "" && indent > blockIndent {
				out[len(out)-1].expr += " " + trimmed
				continue
			}
			block = false
		}
		if name, ok := strings.CutPrefix(trimmed, "- alert:"); ok {
			rules++
			alert = strings.TrimSpace(name)
		}
		if expr, ok := strings.CutPrefix(trimmed, "expr:"); ok {
			expr = strings.TrimSpace(expr)
			out = append(out, expression{where: alertRulesFile + " " + alert})
			if expr == "|" {
				block, blockIndent = true, indent
			} else {
				out[len(out)-1].expr = expr
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rules == 0 || len(out) != rules {
		t.Fatalf("%s: %d rules but %d expressions read", alertRulesFile, rules, len(out))
	}
	return out
}

// dashboardExpressions collects every query in the dashboard: each panel
// target's expr and each template variable's query.
func dashboardExpressions(t *testing.T) []expression {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	var out []expression
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
		}
		for _, target := range p.Targets {
			out = append(out, expression{dashboardFile + " panel " + strconv.Quote(p.Title), target.Expr})
		}
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		out = append(out, expression{dashboardFile + " variable " + v.Name, s})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no queries read", dashboardFile)
	}
	return out
}

// TestReadinessAndRedisGauges: rampart_ready follows what /readyz says (0
// while the server waits for its database, 1 once it answers, 0 again when
// it stops answering) and rampart_redis_degraded follows Redis, so the
// RampartNotReady and RampartRedisDegraded alerts have something to read.
func TestReadinessAndRedisGauges(t *testing.T) {
	u, err := url.Parse(testutil.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pg := tcpproxy.Start(t, u.Host)
	pg.Cut()
	u.Host = pg.Addr()
	redisClient, prefix := testutil.Redis(t)
	rd := tcpproxy.Start(t, redisClient.Options().Addr)
	env := setEnv(testEnviron(t), "RAMPART_DATABASE_URL="+u.String())
	env = setEnv(env, "RAMPART_STARTUP_TIMEOUT=1h") // longer than the test: it must not give up here
	env = append(env, "RAMPART_REDIS_URL=redis://"+rd.Addr()+"/0", "RAMPART_REDIS_PREFIX="+prefix)

	out, done := serveInBackground(t, env)
	l := waitLogged(t, out, done, "starting")
	metrics := "http://" + l.AdminAddr + "/metrics"
	waitFor(t, out, done, "database not reachable yet; retrying")
	waitGauge(t, metrics, "rampart_ready", 0)

	pg.Restore()
	waitLogged(t, out, done, "listening")
	waitGauge(t, metrics, "rampart_ready", 1)
	waitGauge(t, metrics, "rampart_redis_degraded", 0)

	pg.Cut()
	waitGauge(t, metrics, "rampart_ready", 0)
	pg.Restore()
	waitGauge(t, metrics, "rampart_ready", 1)

	rd.Cut()
	waitGauge(t, metrics, "rampart_redis_degraded", 1)
	rd.Restore()
	waitGauge(t, metrics, "rampart_redis_degraded", 0)
}

// waitGauge polls /metrics until the unlabelled gauge name has value want.
// The deadline only keeps a broken server from hanging the test.
func waitGauge(t *testing.T, metricsURL, name string, want float64) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body := get(t, metricsURL)
		last = "absent"
		for line := range strings.Lines(body) {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				last = strings.TrimSpace(v)
				if got, err := strconv.ParseFloat(last, 64); err == nil && got == want {
					return
				}
			}
		}
	}
	t.Fatalf("%s never became %v (last: %s)", name, want, last)
}
