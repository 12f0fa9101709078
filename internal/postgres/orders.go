package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

const (
	orderColumns = "id, tenant_id, owner_id, items, note, status, created_at, updated_at"
	selectOrder  = "SELECT " + orderColumns + " FROM orders WHERE tenant_id = $1 AND id = $2"
	// Two listings rather than one with an optional condition, so that
	// each gets a plan with the index that fits it.
	listOrders      = "SELECT " + orderColumns + " FROM orders WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4"
	listOwnerOrders = "SELECT " + orderColumns + " FROM orders WHERE tenant_id = $1 AND owner_id = $2 AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $5"
)

func scanOrder(row pgx.Row) (*rampart.Order, error) {
	var o rampart.Order
	return &o, row.Scan(&o.ID, &o.TenantID, &o.OwnerID, &o.Items, &o.Note, &o.Status, &o.CreatedAt, &o.UpdatedAt)
}

func (s *Store) CreateOrder(ctx context.Context, o *rampart.Order) error {
	rampart.RoundTimes(o)
	return s.exec(ctx, "create order", "INSERT INTO orders ("+orderColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		o.ID, o.TenantID, o.OwnerID, o.Items, o.Note, o.Status, o.CreatedAt, o.UpdatedAt)
}

func (s *Store) GetOrder(ctx context.Context, tenantID, id string) (*rampart.Order, error) {
	return get(ctx, s, "get order", "order", scanOrder, selectOrder, tenantID, id)
}

func (s *Store) ListOrders(ctx context.Context, tenantID string, f rampart.OrderFilter, page rampart.Page) ([]*rampart.Order, rampart.Cursor, error) {
	if f.OwnerID != "" {
		return list(ctx, s, "list orders", page, scanOrder, listOwnerOrders, tenantID, f.OwnerID)
	}
	return list(ctx, s, "list orders", page, scanOrder, listOrders, tenantID)
}

func (s *Store) UpdateOrder(ctx context.Context, tenantID, id string, fn func(*rampart.Order) error) (*rampart.Order, error) {
	return update(ctx, s, "update order", "order", scanOrder, fn, func(ctx context.Context, tx pgx.Tx, o, _ *rampart.Order) error {
		_, err := tx.Exec(ctx, "UPDATE orders SET items = $1, note = $2, status = $3, updated_at = $4 WHERE id = $5",
			o.Items, o.Note, o.Status, o.UpdatedAt, id)
		if err != nil {
			return s.dbError("update order", err)
		}
		return nil
	}, selectOrder+" FOR UPDATE", tenantID, id)
}

func (s *Store) DeleteOrder(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete order", "order", "DELETE FROM orders WHERE tenant_id = $1 AND id = $2", tenantID, id)
}
