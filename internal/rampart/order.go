package rampart

import "time"

// OrderStatus is where an order is in its life. Every order starts pending.
type OrderStatus string

const (
	OrderPending   OrderStatus = "pending"
	OrderCancelled OrderStatus = "cancelled"
	OrderFulfilled OrderStatus = "fulfilled"
)

// Order is a user's order of items.
type Order struct {
	ID        string
	TenantID  string
	OwnerID   string // id of the user who placed the order
	Items     []OrderItem
	Note      string // empty when there is none
	Status    OrderStatus
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrderItem is a quantity of one stock-keeping unit.
type OrderItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// OrderFilter narrows a listing of orders.
type OrderFilter struct {
	OwnerID string // when set, only the orders of this user
}
