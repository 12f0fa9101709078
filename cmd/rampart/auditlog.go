package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json/v2"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"example.com/rampart/internal/rampart"
)

// errChainBroken means `auditlog verify` found a tenant whose chain does
// not verify, or is shorter than or different from a checkpoint; the
// tenant and the first broken event are printed.
var errChainBroken = errors.New("an audit chain is broken")

// auditlogVerify is `rampart auditlog verify [--checkpoints FILE]`: it
// walks every tenant's audit chain and prints one line per tenant, with the
// head (sequence and hash), or the first event that does not verify. With
// --checkpoints it also compares each chain with the checkpoints in FILE
// (as RAMPART_AUDIT_CHECKPOINT_PATH writes them), which catches a chain
// whose newest events were deleted, or that was rewritten and re-hashed;
// tenants that appear only in FILE are checked too, as their chains may
// have been deleted whole.
func auditlogVerify(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("auditlog verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	checkpointFile := fs.String("checkpoints", "", "a checkpoint file (JSON lines) to compare every chain with")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	var checkpoints []rampart.AuditCheckpoint
	if *checkpointFile != "" {
		var err error
		if checkpoints, err = readCheckpoints(*checkpointFile); err != nil {
			return err
		}
	}
	_, st, err := configuredStore(ctx, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	tenants, err := st.ListTenantIDs(ctx)
	if err != nil {
		return err
	}
	byTenant := map[string][]rampart.AuditCheckpoint{}
	for _, c := range checkpoints {
		if _, seen := byTenant[c.TenantID]; !seen && !slices.Contains(tenants, c.TenantID) {
			tenants = append(tenants, c.TenantID)
		}
		byTenant[c.TenantID] = append(byTenant[c.TenantID], c)
	}
	broken := 0
	for _, id := range tenants {
		r, err := rampart.VerifyAuditCheckpoints(ctx, st, id, byTenant[id])
		if err != nil {
			return err
		}
		if !r.Intact() {
			broken++
			fmt.Fprintf(stdout, "BROKEN tenant %s at seq %d: %s (%d events verified before it)\n", id, r.BrokenAt, r.Problem, r.Verified)
			continue
		}
		fmt.Fprintf(stdout, "ok     tenant %s: %d events, head seq %d hash %s\n", id, r.Verified, r.HeadSeq, hex.EncodeToString(r.HeadHash))
	}
	if broken > 0 {
		return errChainBroken
	}
	fmt.Fprintf(stdout, "%d tenants verified", len(tenants))
	if *checkpointFile != "" {
		fmt.Fprintf(stdout, " against %d checkpoints", len(checkpoints))
	}
	fmt.Fprintln(stdout)
	return nil
}

// checkpointLine is one line of a checkpoint file. The "audit checkpoint"
// log line has the same fields, but the time as "event_time", as "time" is
// the log line's own.
type checkpointLine struct {
	Tenant string    `json:"tenant"`
	Seq    int64     `json:"seq"`
	Hash   string    `json:"hash"` // hex, as `auditlog verify` prints heads
	Time   time.Time `json:"time"` // the event's time
}

// readCheckpoints reads a checkpoint file. A line that does not parse is
// an error naming it: a checkpoint file is written only by the server.
func readCheckpoints(path string) ([]rampart.AuditCheckpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []rampart.AuditCheckpoint
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		var l checkpointLine
		err := json.Unmarshal(sc.Bytes(), &l)
		hash, herr := hex.DecodeString(l.Hash)
		if err != nil || herr != nil || l.Tenant == "" || l.Seq < 1 || len(hash) == 0 {
			return nil, fmt.Errorf("%s:%d: not a checkpoint line", path, n)
		}
		out = append(out, rampart.AuditCheckpoint{TenantID: l.Tenant, Seq: l.Seq, Hash: hash, Time: l.Time})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// checkpointExporter exports audit checkpoints (rampart.AuditCheckpointer)
// at every append: as an "audit checkpoint" log line, always, and as a JSON
// line appended to a file when RAMPART_AUDIT_CHECKPOINT_PATH is set. Both
// leave the database, so its owner cannot take them back: the log stream
// is shipped elsewhere, and the file is meant for storage that the
// database's owner cannot rewrite (another host's mount, an append-only
// attribute). The file is not synced per line: a process crash loses no
// line already written, an OS crash may lose the last few, which the next
// checkpoints cover.
type checkpointExporter struct {
	logger *slog.Logger
	mu     sync.Mutex // one line at a time
	file   *os.File   // nil: the log stream only
}

// openCheckpointExporter opens (or creates, mode 0600) the checkpoint file
// for appending when one is configured.
func openCheckpointExporter(cfg Config, logger *slog.Logger) (*checkpointExporter, error) {
	x := &checkpointExporter{logger: logger}
	if cfg.AuditCheckpointPath != "" {
		f, err := os.OpenFile(cfg.AuditCheckpointPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("RAMPART_AUDIT_CHECKPOINT_PATH: %w", err)
		}
		x.file = f
	}
	return x, nil
}

func (x *checkpointExporter) AuditCheckpoint(ctx context.Context, c rampart.AuditCheckpoint) {
	l := checkpointLine{Tenant: c.TenantID, Seq: c.Seq, Hash: hex.EncodeToString(c.Hash), Time: c.Time.UTC()}
	// Written past the handler's level check: checkpoints are records, not
	// diagnostics, and RAMPART_LOG_LEVEL=warn must not drop them.
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "audit checkpoint", 0)
	r.AddAttrs(slog.String("tenant", l.Tenant), slog.Int64("seq", l.Seq), slog.String("hash", l.Hash),
		slog.String("event_time", l.Time.Format(time.RFC3339Nano)))
	_ = x.logger.Handler().Handle(ctx, r)
	if x.file == nil {
		return
	}
	b, err := json.Marshal(l)
	if err != nil {
		return // cannot happen: strings, an integer and a time
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	// One write per line, to a file opened with O_APPEND.
	if _, err := x.file.Write(append(b, '\n')); err != nil {
		x.logger.Error("audit checkpoint file", slog.String("error", err.Error()))
	}
}

// Close closes the checkpoint file.
func (x *checkpointExporter) Close() error {
	if x.file == nil {
		return nil
	}
	return x.file.Close()
}
