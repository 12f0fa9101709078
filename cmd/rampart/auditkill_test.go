package main

import (
	"bytes"
	"encoding/json/v2"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/rampart/internal/rampart"
)

// createOrder posts one order and returns its id when the server answered
// 201; a transport error (the server was killed) is returned, not fatal.
func createOrder(base, token string) (id string, code int, err error) {
	body := []byte(`{"items":[{"sku":"KILL-1","quantity":1}]}`)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/orders", bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := testClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", resp.StatusCode, err
	}
	var o struct {
		ID string `json:"id"`
	}
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(b, &o); err != nil {
			return "", resp.StatusCode, err
		}
	}
	return o.ID, resp.StatusCode, nil
}

// TestSIGKILLLeavesNoChangeWithoutItsAuditEvent kills the real binary with
// SIGKILL while concurrent clients create orders, reopens the database,
// and checks that every order the clients saw acknowledged (201) is there
// with its order.created event, that no stored order lacks its event, that
// every tenant's chain verifies, and that no exported checkpoint is ahead
// of what was committed. Bounded: at most workers × maxPerWorker requests.
func TestSIGKILLLeavesNoChangeWithoutItsAuditEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	const (
		workers      = 8
		killAfter    = 150 // acknowledged orders before the kill
		maxPerWorker = 200
	)
	forEachDatabase(t, func(t *testing.T, env []string) {
		file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
		env = append(env, "RAMPART_RATE_API=100000/1m", "RAMPART_AUDIT_CHECKPOINT_PATH="+file)
		l, out, cmd, exited := startBinary(t, env)
		base := "http://" + l.Addr
		email := uniqueEmail("kill")
		if r := do(t, http.MethodPost, base+"/v1/signup", signupBody(email), ""); r.code != http.StatusCreated {
			t.Fatalf("signup: %d %s", r.code, r.body)
		}
		token, r := login(t, base, email)
		if token == "" {
			t.Fatalf("login: %d %s", r.code, r.body)
		}

		var mu sync.Mutex
		var acked []string
		kill := make(chan struct{})
		var killOnce sync.Once
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range maxPerWorker {
					id, code, err := createOrder(base, token)
					if err != nil {
						return // the server is gone
					}
					if code == http.StatusServiceUnavailable {
						// Overloaded (a busy machine: the tenant's chain
						// lock waited past the query timeout). Refused, not
						// acknowledged: nothing to check for it.
						continue
					}
					if code != http.StatusCreated {
						t.Errorf("order: %d", code)
						return
					}
					mu.Lock()
					acked = append(acked, id)
					if len(acked) == killAfter {
						killOnce.Do(func() { close(kill) })
					}
					mu.Unlock()
				}
			})
		}
		select {
		case <-kill:
		case <-time.After(60 * time.Second):
			t.Fatal("too few orders acknowledged within 60 s")
		}
		// Other requests are in flight now.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not die")
		}
		wg.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the server did not die of SIGKILL: %v\n%s", cmd.ProcessState, out)
		}

		ctx := t.Context()
		st, err := openStore(ctx, mustLoad(t, env))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		tenants, err := st.ListTenantIDs(ctx)
		if err != nil || len(tenants) != 1 {
			t.Fatalf("tenants after the kill: %v %v", tenants, err)
		}
		tenant := tenants[0]
		events := map[string]int{} // order id -> order.created events
		report, err := rampart.VerifyAuditChain(ctx, st, tenant)
		if err != nil || !report.Intact() {
			t.Fatalf("the chain after SIGKILL: %+v %v", report, err)
		}
		for after := int64(0); after < report.HeadSeq; {
			batch, err := st.ListAuditChain(ctx, tenant, after, rampart.MaxAuditBatch)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range batch {
				if e.Type == "order.created" {
					events[e.Target]++
				}
				after = e.Seq
			}
		}
		stored := 0
		for page := (rampart.Page{Limit: rampart.MaxPageLimit}); ; {
			orders, next, err := st.ListOrders(ctx, tenant, rampart.OrderFilter{}, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range orders {
				stored++
				if events[o.ID] != 1 {
					t.Errorf("stored order %s has %d order.created events, want 1", o.ID, events[o.ID])
				}
			}
			if next.IsZero() {
				break
			}
			page.After = next
		}
		for _, id := range acked {
			if events[id] != 1 {
				t.Errorf("acknowledged order %s has %d order.created events, want 1", id, events[id])
			}
		}
		if len(events) != stored {
			t.Errorf("%d order.created events for %d stored orders", len(events), stored)
		}
		checkpoints, err := readCheckpoints(file)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := rampart.VerifyAuditCheckpoints(ctx, st, tenant, checkpoints); err != nil || !r.Intact() {
			t.Errorf("against the %d checkpoints exported before the kill: %+v %v", len(checkpoints), r, err)
		}
		t.Logf("%d acknowledged, %d stored (in flight at the kill: %d), head seq %d, %d checkpoints",
			len(acked), stored, stored-len(acked), report.HeadSeq, len(checkpoints))
	})
}
