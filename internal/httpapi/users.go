package httpapi

import (
	"net/http"

	"example.com/rampart/internal/rampart"
)

// createUserRequest adds a user to the admin's own tenant: there is no
// tenant field to send (a tenantId is a 422, unknown field).
type createUserRequest struct {
	Email       string `json:"email" validate:"email"`
	Password    string `json:"password" validate:"newPassword"`
	DisplayName string `json:"displayName" validate:"displayName"`
	Role        string `json:"role" validate:"role"`
}

type updateUserRequest struct {
	DisplayName *string `json:"displayName" validate:"displayName"`
	Role        *string `json:"role" validate:"role"`
}

type userList struct {
	Items      []userResponse `json:"items" validate:"pageItems"`
	NextCursor string         `json:"nextCursor,omitzero" validate:"cursor"`
}

func handleListUsers(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		scope := listScope(p, "users")
		page, errs := d.cursors.parsePage(r.URL.Query(), scope)
		if errs != nil {
			writeProblem(w, r, probValidation, "the query has invalid parameters", errs)
			return
		}
		users, next, err := d.service.ListUsers(r.Context(), p, page)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		out := userList{Items: make([]userResponse, 0, len(users)), NextCursor: d.cursors.encode(scope, next)}
		for _, u := range users {
			out.Items = append(out.Items, newUserResponse(u))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func handleCreateUser(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in createUserRequest
		if !decodeOrAnswer(w, r, &in) {
			return
		}
		u, err := d.service.CreateUser(r.Context(), meta(r), principalFrom(r.Context()), rampart.NewUserInput{
			Email: in.Email, Password: in.Password, DisplayName: in.DisplayName, Role: rampart.Role(in.Role)})
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, newUserResponse(u))
	})
}

func handleGetUser(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := d.service.GetUser(r.Context(), principalFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		writeJSON(w, http.StatusOK, newUserResponse(u))
	})
}

func handleUpdateUser(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in updateUserRequest
		if !decodeOrAnswer(w, r, &in) {
			return
		}
		update := rampart.UserUpdate{DisplayName: in.DisplayName}
		if in.Role != nil {
			role := rampart.Role(*in.Role)
			update.Role = &role
		}
		u, err := d.service.UpdateUser(r.Context(), meta(r), principalFrom(r.Context()), r.PathValue("id"), update)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		writeJSON(w, http.StatusOK, newUserResponse(u))
	})
}

func handleDeleteUser(d handlerDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.service.DeleteUser(r.Context(), meta(r), principalFrom(r.Context()), r.PathValue("id")); err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
