package mail

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Files is the development transport: each message becomes one RFC 5322
// file, <Dir>/<id>.eml (mode 0600 in a 0700 directory: the body carries a
// link token), and the log names the file, never the link. A message
// delivered twice (after a crash) rewrites its own file.
type Files struct {
	Dir    string // <RAMPART_DATA_DIR>/mail
	Logger *slog.Logger
}

func (f Files) String() string { return "eml files in " + f.Dir }

func (f Files) Deliver(ctx context.Context, m Message) error {
	raw, err := Render(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: create the mail directory: %w", err)
	}
	// MkdirAll leaves an existing directory's mode alone.
	if err := os.Chmod(f.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: the mail directory: %w", err)
	}
	path := filepath.Join(f.Dir, m.ID+".eml")
	tmp := path + ".tmp"
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("mail: write the message file: %w", err)
	}
	_, err = file.Write(raw)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Whole or not at all: a reader never sees half a message.
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("mail: write the message file: %w", err)
	}
	if f.Logger != nil {
		f.Logger.InfoContext(ctx, "mail written", slog.String("path", path), slog.String("mail_id", m.ID), slog.String("kind", string(m.Kind)))
	}
	return nil
}
