package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"example.com/rampart/internal/logging"
)

// BenchmarkHealthz compares GET /healthz through the full middleware chain
// with the bare handler in the same run; the difference is the per-request
// cost of the edge (request id, client IP, access log line, metrics,
// security headers, CORS, body limit, routing).
func BenchmarkHealthz(b *testing.B) {
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.status != 0 && w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, handleHealthz()) })
	b.Run("chain", func(b *testing.B) {
		app := newTestApp(b)
		h, err := NewServer(Options{
			Logger:       logging.New(io.Discard, slog.LevelInfo), // the production handler, redaction included
			Store:        app.store,
			Services:     app.services,
			Tokens:       app.tokens,
			CursorKey:    make([]byte, 32),
			Registry:     prometheus.NewRegistry(),
			CORSOrigins:  []string{testOrigin},
			MaxBodyBytes: 100 << 10,
		})
		if err != nil {
			b.Fatal(err)
		}
		run(b, h)
	})
}

// discardWriter is a ResponseWriter that costs as little as possible, so
// the benchmark measures the handlers rather than the recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
