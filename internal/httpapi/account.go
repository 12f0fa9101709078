package httpapi

import (
	"net/http"
	"time"

	"example.com/rampart/internal/rampart"
)

// Request bodies. Their `validate` tags name rules of fieldRules (rules.go),
// which are the edge's checks and the OpenAPI schema; the password policy
// (configured minimum length, common passwords) is applied by the domain.

type signupRequest struct {
	Email        string `json:"email" validate:"email"`
	Password     string `json:"password" validate:"newPassword"`
	DisplayName  string `json:"displayName" validate:"displayName"`
	Organization string `json:"organization" validate:"organization"`
}

// loginRequest is lenient on purpose: a malformed email or a password that
// could never have been set gets the same 401 as any other wrong guess.
//
// tenant is checked for shape only (rules.go loginTenant: at most 36
// characters of 0-9, A-Z, a-z and -; anything else is a 422 that says
// nothing about any account). A well-formed id that is not one of the
// account's tenants gets the 401 of a wrong password, so that sign-in
// tells no one which tenants an account belongs to.
type loginRequest struct {
	Email    string  `json:"email" validate:"loginEmail"`
	Password string  `json:"password" validate:"password"`
	TOTP     *string `json:"totp" validate:"otp"`
	Tenant   *string `json:"tenant" validate:"loginTenant"`
}

// switchTenantRequest names one of the account's tenants.
type switchTenantRequest struct {
	Tenant string `json:"tenant" validate:"id"`
}

// refreshRequest's token may be left out by a browser in cookie mode
// (see cookie.go); every other client sends it.
type refreshRequest struct {
	RefreshToken *string `json:"refreshToken" validate:"refreshToken"`
}

// reauthenticateRequest proves the password again for a step-up; its
// limits are loginRequest's.
type reauthenticateRequest struct {
	Password string  `json:"password" validate:"password"`
	TOTP     *string `json:"totp" validate:"otp"`
}

type updateMeRequest struct {
	DisplayName *string `json:"displayName" validate:"displayName"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"currentPassword" validate:"password"`
	NewPassword     string `json:"newPassword" validate:"newPassword"`
}

type confirmTOTPRequest struct {
	Code string `json:"code" validate:"otp"`
}

type disableTOTPRequest struct {
	Password string `json:"password" validate:"password"`
	Code     string `json:"code" validate:"otp"`
}

// Response bodies are built field by field from domain values, so a hash,
// secret or internal flag has no path to the wire.

type userResponse struct {
	ID            string    `json:"id" validate:"id"`
	Email         string    `json:"email" validate:"email"`
	DisplayName   string    `json:"displayName" validate:"displayName"`
	TenantID      string    `json:"tenantId" validate:"id"`
	Role          string    `json:"role" validate:"role"`
	MFAEnabled    bool      `json:"mfaEnabled"`
	EmailVerified bool      `json:"emailVerified"`
	CreatedAt     time.Time `json:"createdAt"`
}

func newUserResponse(u *rampart.User) userResponse {
	return userResponse{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, TenantID: u.TenantID,
		Role: string(u.Role), MFAEnabled: u.MFA.Enabled, EmailVerified: u.EmailVerified, CreatedAt: u.CreatedAt}
}

// meResponse is the signed-in User and every tenant the account belongs
// to (api.md v1.1), for a tenant picker and POST /v1/auth/switch-tenant.
// The embedded userResponse has no JSON name, so encoding/json/v2 inlines
// its members (as describe and the OpenAPI schema, which read the promoted
// fields, do): the body is a User object with one more member.
type meResponse struct {
	userResponse
	Memberships []membershipResponse `json:"memberships" validate:"memberships"`
}

type membershipResponse struct {
	TenantID   string `json:"tenantId" validate:"id"`
	TenantName string `json:"tenantName" validate:"organization"`
	Role       string `json:"role" validate:"role"`
}

func newMeResponse(u *rampart.User, ms []*rampart.Membership) meResponse {
	out := meResponse{userResponse: newUserResponse(u)}
	out.Memberships = make([]membershipResponse, 0, len(ms))
	for _, m := range ms {
		out.Memberships = append(out.Memberships, membershipResponse{TenantID: m.TenantID, TenantName: m.TenantName, Role: string(m.Role)})
	}
	return out
}

type tenantResponse struct {
	ID   string `json:"id" validate:"id"`
	Name string `json:"name" validate:"organization"`
}

type signupResponse struct {
	User   userResponse   `json:"user"`
	Tenant tenantResponse `json:"tenant"`
}

type tokenResponse struct {
	AccessToken  string `json:"accessToken" validate:"accessToken"`
	TokenType    string `json:"tokenType" validate:"tokenType"`
	ExpiresIn    int    `json:"expiresIn" validate:"expiresIn"`
	RefreshToken string `json:"refreshToken,omitzero" validate:"issuedRefresh"` // absent only in cookie mode
}

func newTokenResponse(t *rampart.Tokens) tokenResponse {
	return tokenResponse{AccessToken: t.AccessToken, TokenType: "Bearer",
		ExpiresIn: int(t.ExpiresIn / time.Second), RefreshToken: t.RefreshToken}
}

// sessionResponse describes a session so that a person can tell theirs
// apart: lastUsedAt, clientAddress and userAgent are as of the session's
// last sign-in, refresh or reauthentication (see rampart.Identity.touch);
// clientAddress is a network ("203.0.113.0/24"), never a full address, and
// "" when unknown.
type sessionResponse struct {
	ID            string    `json:"id" validate:"id"`
	CreatedAt     time.Time `json:"createdAt"`
	LastUsedAt    time.Time `json:"lastUsedAt"`
	ExpiresAt     time.Time `json:"expiresAt"`
	ClientAddress string    `json:"clientAddress" validate:"clientAddress"`
	UserAgent     string    `json:"userAgent" validate:"userAgent"`
	Current       bool      `json:"current"`
}

type totpEnrolmentResponse struct {
	Secret     string `json:"secret" validate:"totpSecret"`
	OtpauthURL string `json:"otpauthUrl" validate:"otpauthUrl"`
}

type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recoveryCodes" validate:"recoveryCodes"`
}

// decodeOrAnswer decodes a body into dst, or answers the problem and
// reports false.
func decodeOrAnswer(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := decodeValid(r, dst); err != nil {
		de := err.(*decodeError)
		writeProblem(w, r, de.problem, de.detail, de.fields)
		return false
	}
	return true
}

func handleSignup(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *signupRequest) {
		user, tenant, err := d.identity.Signup(r.Context(), meta(r), rampart.SignupInput{
			Email: in.Email, Password: in.Password, DisplayName: in.DisplayName, Organization: in.Organization})
		replySignedUp(w, r, d, user, tenant, err)
	})
}

// replySignedUp is the answer of an account created by signup, open or
// confirmed by its link: 201 with the user and the new tenant, or the error.
func replySignedUp(w http.ResponseWriter, r *http.Request, d handlerDeps, user *rampart.User, tenant *rampart.Tenant, err error) {
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	writeJSON(w, http.StatusCreated, signupResponse{User: newUserResponse(user),
		Tenant: tenantResponse{ID: tenant.ID, Name: tenant.Name}})
}

func handleLogin(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *loginRequest) {
		tokens, err := d.identity.Login(r.Context(), meta(r), rampart.LoginInput{
			Email: in.Email, Password: in.Password, TOTP: deref(in.TOTP), TenantID: deref(in.Tenant)})
		replyTokens(w, r, d, tokens, err)
	})
}

func handleRefresh(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.cookie.refused(r) {
			writeProblem(w, r, probForbidden, "the refresh cookie is only accepted from the allowed origins", nil)
			return
		}
		var in refreshRequest
		if !decodeOrAnswer(w, r, &in) {
			return
		}
		token := d.cookie.refreshToken(r, in.RefreshToken)
		if token == "" {
			writeProblem(w, r, probValidation, "the request body has invalid fields",
				[]FieldError{{Field: "refreshToken", Message: "is required"}})
			return
		}
		tokens, err := d.identity.Refresh(r.Context(), meta(r), token)
		if err != nil {
			if d.cookie.applies(r) && rampart.ErrorKind(err) == rampart.KindUnauthenticated {
				d.cookie.clear(w)
			}
			writeError(w, r, d.logger, err)
			return
		}
		d.cookie.writeTokens(w, r, tokens)
	})
}

func handleReauthenticate(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *reauthenticateRequest) {
		tokens, err := d.identity.Reauthenticate(r.Context(), meta(r), principalFrom(r.Context()), in.Password, deref(in.TOTP))
		replyTokens(w, r, d, tokens, err)
	})
}

func handleLogout(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.identity.Logout(r.Context(), meta(r), principalFrom(r.Context())); err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		if d.cookie.applies(r) {
			d.cookie.clear(w)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleGetMe(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		user, err := d.identity.Me(r.Context(), p)
		var ms []*rampart.Membership
		if err == nil {
			ms, err = d.identity.Memberships(r.Context(), p)
		}
		reply(w, r, d, http.StatusOK, func(u *rampart.User) meResponse { return newMeResponse(u, ms) }, user, err)
	})
}

func handleSwitchTenant(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *switchTenantRequest) {
		tokens, err := d.identity.SwitchTenant(r.Context(), meta(r), principalFrom(r.Context()), in.Tenant)
		replyTokens(w, r, d, tokens, err)
	})
}

func handleUpdateMe(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *updateMeRequest) {
		p := principalFrom(r.Context())
		var user *rampart.User
		var err error
		if in.DisplayName == nil {
			user, err = d.identity.Me(r.Context(), p)
		} else {
			user, err = d.identity.UpdateMe(r.Context(), p, *in.DisplayName)
		}
		reply(w, r, d, http.StatusOK, newUserResponse, user, err)
	})
}

func handleChangePassword(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *changePasswordRequest) {
		replyNoContent(w, r, d, d.identity.ChangePassword(r.Context(), meta(r), principalFrom(r.Context()), in.CurrentPassword, in.NewPassword))
	})
}

// newSessionResponse shows a session to its owner p, marking the one p's
// request came with.
func newSessionResponse(p rampart.Principal, s *rampart.Session) sessionResponse {
	return sessionResponse{ID: s.ID, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
		ExpiresAt: s.EndsAt(), ClientAddress: s.ClientAddress, UserAgent: s.UserAgent, Current: s.ID == p.SessionID}
}

func handleListSessions(d handlerDeps) http.Handler {
	return handleListFor(d, "sessions", d.identity.Sessions, newSessionResponse)
}

func handleRevokeSession(d handlerDeps) http.Handler {
	return handleRemoveByID(d, d.identity.RevokeSession)
}

func handleEnrolTOTP(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := d.identity.EnrolTOTP(r.Context(), principalFrom(r.Context()))
		reply(w, r, d, http.StatusOK, func(e *rampart.TOTPEnrolment) totpEnrolmentResponse {
			return totpEnrolmentResponse{Secret: e.Secret, OtpauthURL: e.URI}
		}, e, err)
	})
}

func handleConfirmTOTP(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *confirmTOTPRequest) {
		codes, err := d.identity.ConfirmTOTP(r.Context(), meta(r), principalFrom(r.Context()), in.Code)
		reply(w, r, d, http.StatusOK, func(codes []string) recoveryCodesResponse {
			return recoveryCodesResponse{RecoveryCodes: codes}
		}, codes, err)
	})
}

func handleDisableTOTP(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *disableTOTPRequest) {
		replyNoContent(w, r, d, d.identity.DisableTOTP(r.Context(), meta(r), principalFrom(r.Context()), in.Password, in.Code))
	})
}

func handleJWKS(keys JWKSource, d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := keys.JWKS()
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		w.Header()["Content-Type"] = hJSON
		_, _ = w.Write(body)
	})
}
