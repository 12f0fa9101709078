package httpapi

import (
	"net/http"

	"example.com/rampart/internal/rampart"
)

type updateUserRequest struct {
	DisplayName *string `json:"displayName" validate:"displayName"`
	Role        *string `json:"role" validate:"role"`
}

func handleListUsers(d handlerDeps) http.Handler {
	return handleList(d, "users", d.service.ListUsers, newUserResponse)
}

func handleGetUser(d handlerDeps) http.Handler {
	return handleGetByID(d, d.service.GetUser, newUserResponse)
}

func handleUpdateUser(d handlerDeps) http.Handler {
	return handleUpdateByID(d, d.service.UpdateUser, func(in *updateUserRequest) rampart.UserUpdate {
		return rampart.UserUpdate{DisplayName: in.DisplayName, Role: convertOptional[rampart.Role](in.Role)}
	}, newUserResponse)
}

func handleDeleteUser(d handlerDeps) http.Handler {
	return handleRemoveByID(d, d.service.DeleteUser)
}
