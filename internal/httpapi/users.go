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
	return handleList(d, "users", d.service.ListUsers, newUserResponse,
		func(items []userResponse, next string) any { return userList{Items: items, NextCursor: next} })
}

func handleCreateUser(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *createUserRequest) {
		u, err := d.service.CreateUser(r.Context(), meta(r), principalFrom(r.Context()), rampart.NewUserInput{
			Email: in.Email, Password: in.Password, DisplayName: in.DisplayName, Role: rampart.Role(in.Role)})
		reply(w, r, d, http.StatusCreated, newUserResponse, u, err)
	})
}

func handleGetUser(d handlerDeps) http.Handler {
	return handleGetByID(d, d.service.GetUser, newUserResponse)
}

func handleUpdateUser(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *updateUserRequest) {
		update := rampart.UserUpdate{DisplayName: in.DisplayName, Role: convertOptional[rampart.Role](in.Role)}
		u, err := d.service.UpdateUser(r.Context(), meta(r), principalFrom(r.Context()), r.PathValue("id"), update)
		reply(w, r, d, http.StatusOK, newUserResponse, u, err)
	})
}

func handleDeleteUser(d handlerDeps) http.Handler {
	return handleRemoveByID(d, d.service.DeleteUser)
}
