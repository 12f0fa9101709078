package httpapi

import (
	"net/http"
	"time"

	"example.com/rampart/internal/rampart"
)

// Invitations (api.md "Accounts and memberships"): POST /v1/users invites,
// GET/DELETE /v1/invitations list and revoke, POST /v1/invitations/accept
// accepts.

// inviteRequest is POST /v1/users: an address, a role and an optional
// name. There is no password (the invitee chooses it) and no tenant (the
// admin's own): either is a 422, unknown field.
type inviteRequest struct {
	Email       string  `json:"email" validate:"email"`
	Role        string  `json:"role" validate:"role"`
	DisplayName *string `json:"displayName" validate:"displayName"`
}

type invitationResponse struct {
	ID        string    `json:"id" validate:"id"`
	Email     string    `json:"email" validate:"email"`
	Role      string    `json:"role" validate:"role"`
	ExpiresAt time.Time `json:"expiresAt"`
	CreatedAt time.Time `json:"createdAt"`
}

func newInvitationResponse(inv *rampart.Invitation) invitationResponse {
	return invitationResponse{ID: inv.ID, Email: inv.Email, Role: string(inv.Role), ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt}
}

// invitedResponse is the 202 of POST /v1/users, the same whether or not
// the address has an account.
type invitedResponse struct {
	Invitation invitationResponse `json:"invitation"`
}

// acceptInvitationRequest: the token from the link; a password for a new
// account. The token's rule is loose (a bounded string): a token that is
// malformed or altered is answered as invalid-link, like any dead link,
// rather than as a validation failure that would tell it apart.
type acceptInvitationRequest struct {
	Token       string  `json:"token" validate:"linkToken"`
	Password    *string `json:"password" validate:"newPassword"`
	DisplayName *string `json:"displayName" validate:"displayName"`
}

type acceptInvitationResponse struct {
	User userResponse `json:"user"`
}

func handleInvite(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *inviteRequest) {
		inv, err := d.service.Invite(r.Context(), meta(r), principalFrom(r.Context()), rampart.InviteInput{
			Email: in.Email, Role: rampart.Role(in.Role), DisplayName: deref(in.DisplayName)})
		reply(w, r, d, http.StatusAccepted, func(inv *rampart.Invitation) invitedResponse {
			return invitedResponse{Invitation: newInvitationResponse(inv)}
		}, inv, err)
	})
}

func handleListInvitations(d handlerDeps) http.Handler {
	return handleList(d, "invitations", d.service.ListInvitations, newInvitationResponse)
}

func handleRevokeInvitation(d handlerDeps) http.Handler {
	return handleRemoveByID(d, d.service.RevokeInvitation)
}

// handleAcceptInvitation is a public route that reads an optional bearer
// credential: an invitation for an account that exists is accepted only
// by that account, signed in. A credential that is sent and refused is
// answered as on any authenticated route, before the link is looked at.
func handleAcceptInvitation(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *acceptInvitationRequest) {
		var caller *rampart.Principal
		if r.Header.Get("Authorization") != "" {
			p, ok := authenticateBearer(w, r, d, "send an access token as Authorization: Bearer <token>")
			if !ok {
				return
			}
			caller = &p
		}
		u, created, err := d.identity.AcceptInvitation(r.Context(), meta(r), caller, rampart.AcceptInvitationInput{
			Token: in.Token, Password: deref(in.Password), DisplayName: deref(in.DisplayName)})
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		reply(w, r, d, status, func(u *rampart.User) acceptInvitationResponse {
			return acceptInvitationResponse{User: newUserResponse(u)}
		}, u, err)
	})
}
