package mail_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"mime/quotedprintable"
	"testing"

	"example.com/rampart/internal/testutil/smtptest"
)

type tls12 struct{}

func (tls12) config(srv *smtptest.Server) tls.Config {
	return tls.Config{RootCAs: srv.RootCAs, MinVersion: tls.VersionTLS12}
}

func decodeQP(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
