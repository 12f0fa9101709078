package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"

	"example.com/rampart/internal/rampart"
)

// reply answers status with convert(rec), or the problem for err: the last
// step of every handler that returns one record.
func reply[R, T any](w http.ResponseWriter, r *http.Request, d handlerDeps, status int, convert func(R) T, rec R, err error) {
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	writeJSON(w, status, convert(rec))
}

// replyTokens answers a new token pair (the refresh token in the body, or
// in the cookie for browsers in refresh-cookie mode), or the problem for
// err.
func replyTokens(w http.ResponseWriter, r *http.Request, d handlerDeps, tokens *rampart.Tokens, err error) {
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	d.cookie.writeTokens(w, r, tokens)
}

// replyNoContent answers 204, or the problem for err.
func replyNoContent(w http.ResponseWriter, r *http.Request, d handlerDeps, err error) {
	if err != nil {
		writeError(w, r, d.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleBody decodes and checks the request body into an In, or answers the
// problem, and hands the input to serve: the first step of every handler
// that takes a body.
func handleBody[In any](serve func(w http.ResponseWriter, r *http.Request, in *In)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in In
		if !decodeOrAnswer(w, r, &in) {
			return
		}
		serve(w, r, &in)
	})
}

// convertOptional is an optional string field of a body as the domain's
// string type (a role, an order status), nil when it was left out.
func convertOptional[T ~string](s *string) *T {
	if s == nil {
		return nil
	}
	v := T(*s)
	return &v
}

// deref is an optional string field of a body, "" when it was left out.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// handleGetByID answers the record the path's id names, as get finds it
// for the principal, with convert.
func handleGetByID[R, T any](d handlerDeps, get func(context.Context, rampart.Principal, string) (R, error), convert func(R) T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := get(r.Context(), principalFrom(r.Context()), r.PathValue("id"))
		reply(w, r, d, http.StatusOK, convert, rec, err)
	})
}

// handleUpdateByID decodes and checks the body, turns it with input into
// the domain's change, applies it with update to the record the path's id
// names, and answers the changed record with convert.
func handleUpdateByID[In, U, R, T any](d handlerDeps, update func(context.Context, rampart.RequestMeta, rampart.Principal, string, U) (R, error),
	input func(*In) U, convert func(R) T) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *In) {
		rec, err := update(r.Context(), meta(r), principalFrom(r.Context()), r.PathValue("id"), input(in))
		reply(w, r, d, http.StatusOK, convert, rec, err)
	})
}

// handleRemoveByID deletes or revokes, with remove, the record the path's
// id names and answers 204.
func handleRemoveByID(d handlerDeps, remove func(context.Context, rampart.RequestMeta, rampart.Principal, string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		replyNoContent(w, r, d, remove(r.Context(), meta(r), principalFrom(r.Context()), r.PathValue("id")))
	})
}

// listPage is the body of every listing (api.md, pagination): one page of
// items and, unless it is the last page, the cursor of the next.
type listPage[T any] struct {
	Items      []T    `json:"items" validate:"pageItems"`
	NextCursor string `json:"nextCursor,omitzero" validate:"cursor"`
}

// schemaName names a listing's component in the OpenAPI document after its
// items, as orderList for listPage[orderResponse]: a Go name such as
// "listPage[example.com/...orderResponse]" is not a valid component name.
func (listPage[T]) schemaName() string {
	return strings.TrimSuffix(reflect.TypeFor[T]().Name(), "Response") + "List"
}

// handleList answers one page of a listing whose records look the same to
// every principal that may list them: handleListFor with a convert that
// needs only the record.
func handleList[R, T any](d handlerDeps, listing string,
	list func(context.Context, rampart.Principal, rampart.Page) ([]R, rampart.Cursor, error),
	convert func(R) T) http.Handler {
	return handleListFor(d, listing, list, func(_ rampart.Principal, rec R) T { return convert(rec) })
}

// handleListFor answers one page of a listing: the page and cursor come
// from the query (a cursor is only good for the listing and principal it
// was made for, see listScope), list fetches the records, and convert
// turns each into its response for the principal.
func handleListFor[R, T any](d handlerDeps, listing string,
	list func(context.Context, rampart.Principal, rampart.Page) ([]R, rampart.Cursor, error),
	convert func(rampart.Principal, R) T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		scope := listScope(p, listing)
		pg, errs := d.cursors.parsePage(r.URL.Query(), scope)
		if errs != nil {
			writeProblem(w, r, probValidation, "the query has invalid parameters", errs)
			return
		}
		records, next, err := list(r.Context(), p, pg)
		if err != nil {
			writeError(w, r, d.logger, err)
			return
		}
		items := make([]T, 0, len(records))
		for _, rec := range records {
			items = append(items, convert(p, rec))
		}
		writeJSON(w, http.StatusOK, listPage[T]{Items: items, NextCursor: d.cursors.encode(scope, next)})
	})
}
