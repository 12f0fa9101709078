package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

type statusBody struct {
	Status string `json:"status" validate:"healthStatus"`
}

// handleHealthz says only that the process is alive: no versions, no
// dependency details.
func handleHealthz() http.Handler {
	body := []byte(`{"status":"ok"}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = hJSON
		_, _ = w.Write(body)
	})
}

var hJSON = []string{"application/json"}[:1:1]

// readyTimeout bounds how long a readiness probe waits for the store, so a
// hung database makes the probe fail rather than hang with it.
const readyTimeout = 2 * time.Second

// handleReadyz answers 503 when the store does not answer: this replica
// cannot serve. A configured Redis that does not answer only degrades it
// (limits fall back to per-replica ones), so it stays in the pool and says
// "degraded".
func handleReadyz(store Pinger, degraded func() bool, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			logger.LogAttrs(r.Context(), slog.LevelWarn, "readiness: store does not answer",
				slog.String("request_id", requestIDFrom(r.Context())), slog.String("error", err.Error()))
			writeProblem(w, r, probUnavailable, "the service is not ready", nil)
			return
		}
		if degraded != nil && degraded() {
			writeJSON(w, http.StatusOK, statusBody{Status: "degraded"})
			return
		}
		writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
	})
}

// Starting is the handler while the server waits for its store at
// start-up: alive (GET /healthz 200) but not ready (/readyz and every other
// route 503 problem+json with Retry-After), so that an orchestrator neither
// restarts the process nor routes traffic to it.
func Starting() http.Handler {
	healthz := handleHealthz()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			healthz.ServeHTTP(w, r)
			return
		}
		writeProblem(w, r, probUnavailable, "the service is starting", nil)
	})
}
