package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"example.com/rampart/internal/rampart"
)

// Signup modes, password reset and email verification (api.md v1.1).

// addressBudget is how many requests that mail an address (a password
// reset, a signup in verify mode) one address gets, on top of the route
// class's budget per client address: a stranger cannot flood someone's
// mailbox through us, whatever addresses they send from.
var addressBudget = rampart.RateLimit{N: 5, Per: time.Hour}

// acceptedResponse is the one answer to a request whose outcome must not
// tell whether the address has an account: the same bytes for both.
type acceptedResponse struct {
	Status string `json:"status" validate:"acceptedStatus"`
}

// acceptedBody is the body of every such 202.
var acceptedBody = acceptedResponse{Status: "accepted"}

type passwordResetRequest struct {
	Email string `json:"email" validate:"email"`
}

// A link token's rule is loose on purpose: a tampered token gets the one
// invalid-link answer from the domain, not a validation error that would
// say how it was tampered with.
type passwordResetConfirmRequest struct {
	Token       string  `json:"token" validate:"linkToken"`
	NewPassword string  `json:"newPassword" validate:"newPassword"`
	TOTP        *string `json:"totp" validate:"otp"`
}

type linkTokenRequest struct {
	Token string `json:"token" validate:"linkToken"`
}

// handleSignupByMode is POST /v1/signup in the configured mode: open
// creates the account (201, 409 when taken), verify answers 202 and mails
// a link, closed refuses (403).
func handleSignupByMode(d handlerDeps) http.Handler {
	open := handleSignup(d)
	verify := handleBody(func(w http.ResponseWriter, r *http.Request, in *signupRequest) {
		if !addressAllowed(w, r, d, "signup", in.Email) {
			return
		}
		err := d.identity.RequestSignup(r.Context(), meta(r), rampart.SignupInput{
			Email: in.Email, Password: in.Password, DisplayName: in.DisplayName, Organization: in.Organization})
		replyAccepted(w, r, d, err)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch d.identity.SignupMode() {
		case rampart.SignupOpen:
			open.ServeHTTP(w, r)
		case rampart.SignupClosed:
			writeError(w, r, d.logger, rampart.SignupClosedError())
		default:
			verify.ServeHTTP(w, r)
		}
	})
}

func handleConfirmSignup(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *linkTokenRequest) {
		user, tenant, err := d.identity.ConfirmSignup(r.Context(), meta(r), in.Token)
		replySignedUp(w, r, d, user, tenant, err)
	})
}

func handlePasswordReset(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *passwordResetRequest) {
		if !addressAllowed(w, r, d, "reset", in.Email) {
			return
		}
		replyAccepted(w, r, d, d.identity.RequestPasswordReset(r.Context(), meta(r), in.Email))
	})
}

func handlePasswordResetConfirm(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *passwordResetConfirmRequest) {
		reset := rampart.ResetInput{Token: in.Token, NewPassword: in.NewPassword, TOTP: deref(in.TOTP)}
		replyNoContent(w, r, d, d.identity.ConfirmPasswordReset(r.Context(), meta(r), reset))
	})
}

func handleVerifyEmail(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *linkTokenRequest) {
		replyNoContent(w, r, d, d.identity.VerifyEmail(r.Context(), meta(r), in.Token))
	})
}

func replyAccepted(w http.ResponseWriter, r *http.Request, d handlerDeps, err error) {
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	writeJSON(w, http.StatusAccepted, acceptedBody)
}

// addressAllowed spends one request of the address's budget for flow, or
// answers 429 and reports false. The key is the address's EmailKey, hashed
// (no address in the limiter's keys), whether or not it has an account, and
// it is spent before anything looks the address up: the answer, allowed or
// refused, is the same for a known and an unknown address.
func addressAllowed(w http.ResponseWriter, r *http.Request, d handlerDeps, flow, email string) bool {
	if d.limits.Limiter == nil {
		return true
	}
	dec, err := d.limits.Limiter.Allow(r.Context(), addressKey(flow, email), addressBudget)
	return !limitRefused(w, r, d.logger, dec, err, "too many requests for this address; retry later")
}

func addressKey(flow, email string) string {
	sum := sha256.Sum256([]byte(rampart.EmailKey(email)))
	return "ADDRESS:" + flow + ":" + hex.EncodeToString(sum[:16])
}
