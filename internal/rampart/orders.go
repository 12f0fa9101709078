package rampart

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// Limits of an order. The HTTP edge declares the same limits in its
// request schema; the service checks them again, whoever calls it.
const (
	MaxOrderItems      = 50
	MaxOrderQuantity   = 1000
	MaxSKULength       = 64
	MaxOrderNoteLength = 500
)

// OrderInput is everything a client chooses about a new order. The id,
// tenant, owner, status and times are the server's.
type OrderInput struct {
	Items []OrderItem
	Note  string
}

// OrderUpdate is what a client may change on an order; nil leaves a field
// as it is.
type OrderUpdate struct {
	Note   *string
	Status *OrderStatus // OrderCancelled or OrderFulfilled
}

func (o *Order) resource() Resource {
	return Resource{Kind: "order", TenantID: o.TenantID, OwnerID: o.OwnerID}
}

var errOrderNotPending = &Error{Kind: KindConflict, Code: CodeOrderNotPending,
	Message: "only a pending order can be cancelled or fulfilled"}

// CreateOrder places a pending order owned by p and records who did.
func (s *Resources) CreateOrder(ctx context.Context, meta RequestMeta, p Principal, in OrderInput) (*Order, error) {
	if err := Authorize(p, ActionOrderCreate); err != nil {
		return nil, err
	}
	if err := checkOrderItems(in.Items); err != nil {
		return nil, err
	}
	if err := checkNote(in.Note); err != nil {
		return nil, err
	}
	now := s.now()
	o := &Order{ID: NewID(), TenantID: p.TenantID, OwnerID: actorID(p), Items: in.Items, Note: in.Note,
		Status: OrderPending, CreatedAt: now, UpdatedAt: now}
	err := s.store.Atomically(ctx, func(tx Store) error {
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p, "order.created", o.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// ListOrders lists the orders p may read, newest first: a member's own, or
// all of the tenant's for an admin or an API key.
func (s *Resources) ListOrders(ctx context.Context, p Principal, page Page) ([]*Order, Cursor, error) {
	if err := Authorize(p, ActionOrderRead); err != nil {
		return nil, Cursor{}, err
	}
	var f OrderFilter
	if ownOnly(p, ActionOrderRead) {
		f.OwnerID = actorID(p)
	}
	return s.store.ListOrders(ctx, p.TenantID, f, page)
}

// GetOrder returns an order p may read.
func (s *Resources) GetOrder(ctx context.Context, p Principal, id string) (*Order, error) {
	if err := Authorize(p, ActionOrderRead); err != nil {
		return nil, err
	}
	o, err := s.getOrder(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := Authorize(p, ActionOrderRead, o.resource()); err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Resources) getOrder(ctx context.Context, p Principal, id string) (*Order, error) {
	if !ValidID(id) {
		return nil, notFound("order")
	}
	o, err := s.store.GetOrder(ctx, p.TenantID, id)
	if err != nil {
		return nil, notFoundAs(err, notFound("order"))
	}
	return o, nil
}

// UpdateOrder changes an order's note or status. Only a pending order
// changes status: its owner or an admin may cancel it, and an admin (or a
// key with orders:write) may fulfil it. Any other change of status is a
// Conflict. A change of status is recorded in the audit log; a new note
// is not.
func (s *Resources) UpdateOrder(ctx context.Context, meta RequestMeta, p Principal, id string, u OrderUpdate) (*Order, error) {
	if err := Authorize(p, ActionOrderUpdate); err != nil {
		return nil, err
	}
	if u.Status != nil {
		switch *u.Status {
		case OrderCancelled:
		case OrderFulfilled:
			if err := Authorize(p, ActionOrderFulfil); err != nil {
				return nil, err
			}
		default:
			return nil, &Error{Kind: KindInvalid, Field: "status", Message: "must be one of: cancelled, fulfilled"}
		}
	}
	if u.Note != nil {
		if err := checkNote(*u.Note); err != nil {
			return nil, err
		}
	}
	if !ValidID(id) {
		return nil, notFound("order")
	}
	update := func(o *Order) error {
		if err := Authorize(p, ActionOrderUpdate, o.resource()); err != nil {
			return err
		}
		if u.Status != nil {
			if o.Status != OrderPending {
				return errOrderNotPending
			}
			o.Status = *u.Status
		}
		if u.Note != nil {
			o.Note = *u.Note
		}
		o.UpdatedAt = s.now()
		return nil
	}
	var o *Order
	err := s.store.Atomically(ctx, func(tx Store) error {
		var err error
		if o, err = tx.UpdateOrder(ctx, p.TenantID, id, update); err != nil || u.Status == nil {
			return err
		}
		return s.audit(ctx, tx, meta, p, "order.status_changed", o.ID,
			map[string]string{"from": string(OrderPending), "to": string(o.Status)})
	})
	if err != nil {
		return nil, notFoundAs(err, notFound("order"))
	}
	return o, nil
}

// DeleteOrder deletes an order and records who did.
func (s *Resources) DeleteOrder(ctx context.Context, meta RequestMeta, p Principal, id string) error {
	if err := Authorize(p, ActionOrderDelete); err != nil {
		return err
	}
	o, err := s.getOrder(ctx, p, id)
	if err != nil {
		return err
	}
	if err := Authorize(p, ActionOrderDelete, o.resource()); err != nil {
		return err
	}
	err = s.store.Atomically(ctx, func(tx Store) error {
		if err := tx.DeleteOrder(ctx, p.TenantID, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, meta, p, "order.deleted", o.ID, map[string]string{"ownerId": o.OwnerID, "status": string(o.Status)})
	})
	return notFoundAs(err, notFound("order"))
}

func checkOrderItems(items []OrderItem) error {
	if len(items) < 1 || len(items) > MaxOrderItems {
		return &Error{Kind: KindInvalid, Field: "items", Message: fmt.Sprintf("must have 1 to %d items", MaxOrderItems)}
	}
	for i, it := range items {
		if !validSKU(it.SKU) {
			return &Error{Kind: KindInvalid, Field: fmt.Sprintf("items[%d].sku", i),
				Message: fmt.Sprintf("must be 1 to %d characters of %s", MaxSKULength, SKUCharacters)}
		}
		if it.Quantity < 1 || it.Quantity > MaxOrderQuantity {
			return &Error{Kind: KindInvalid, Field: fmt.Sprintf("items[%d].quantity", i),
				Message: fmt.Sprintf("must be a whole number from 1 to %d", MaxOrderQuantity)}
		}
	}
	return nil
}

func validSKU(sku string) bool {
	return len(sku) >= 1 && len(sku) <= MaxSKULength && SKUPattern.MatchString(sku)
}

func checkNote(note string) error {
	if utf8.RuneCountInString(note) > MaxOrderNoteLength {
		return &Error{Kind: KindInvalid, Field: "note", Message: fmt.Sprintf("must be at most %d characters", MaxOrderNoteLength)}
	}
	return nil
}
