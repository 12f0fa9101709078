package httpapi

import (
	"net/http"
	"time"

	"example.com/rampart/internal/rampart"
)

// orderItem is one line of an order, in requests and responses alike.
type orderItem struct {
	SKU      string `json:"sku" validate:"sku"`
	Quantity int    `json:"quantity" validate:"quantity"`
}

// createOrderRequest is all a client chooses about a new order: the id,
// tenant, owner, status and times are the server's, and sending them is a
// 422 (unknown field).
type createOrderRequest struct {
	Items []orderItem `json:"items" validate:"orderItems"`
	Note  *string     `json:"note" validate:"note"`
}

type updateOrderRequest struct {
	Note   *string `json:"note" validate:"note"`
	Status *string `json:"status" validate:"orderChange"`
}

type orderResponse struct {
	ID        string      `json:"id" validate:"id"`
	TenantID  string      `json:"tenantId" validate:"id"`
	OwnerID   string      `json:"ownerId" validate:"id"`
	Items     []orderItem `json:"items" validate:"orderItems"`
	Note      string      `json:"note,omitzero" validate:"note"`
	Status    string      `json:"status" validate:"orderStatus"`
	CreatedAt time.Time   `json:"createdAt"`
	UpdatedAt time.Time   `json:"updatedAt"`
}

func newOrderResponse(o *rampart.Order) orderResponse {
	items := make([]orderItem, len(o.Items))
	for i, it := range o.Items {
		items[i] = orderItem{SKU: it.SKU, Quantity: it.Quantity}
	}
	return orderResponse{ID: o.ID, TenantID: o.TenantID, OwnerID: o.OwnerID, Items: items, Note: o.Note,
		Status: string(o.Status), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func handleListOrders(d handlerDeps) http.Handler {
	return handleList(d, "orders", d.service.ListOrders, newOrderResponse)
}

func handleCreateOrder(d handlerDeps) http.Handler {
	return handleBody(func(w http.ResponseWriter, r *http.Request, in *createOrderRequest) {
		order := rampart.OrderInput{Items: make([]rampart.OrderItem, len(in.Items)), Note: deref(in.Note)}
		for i, it := range in.Items {
			order.Items[i] = rampart.OrderItem{SKU: it.SKU, Quantity: it.Quantity}
		}
		o, err := d.service.CreateOrder(r.Context(), meta(r), principalFrom(r.Context()), order)
		reply(w, r, d, http.StatusCreated, newOrderResponse, o, err)
	})
}

func handleGetOrder(d handlerDeps) http.Handler {
	return handleGetByID(d, d.service.GetOrder, newOrderResponse)
}

func handleUpdateOrder(d handlerDeps) http.Handler {
	return handleUpdateByID(d, d.service.UpdateOrder, func(in *updateOrderRequest) rampart.OrderUpdate {
		return rampart.OrderUpdate{Note: in.Note, Status: convertOptional[rampart.OrderStatus](in.Status)}
	}, newOrderResponse)
}

func handleDeleteOrder(d handlerDeps) http.Handler {
	return handleRemoveByID(d, d.service.DeleteOrder)
}
