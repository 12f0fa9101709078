package sqlite

import (
	"context"
	"database/sql"

	"example.com/rampart/internal/rampart"
)

const (
	orderColumns = "id, tenant_id, owner_id, items, note, status, created_at, updated_at"
	selectOrder  = "SELECT " + orderColumns + " FROM orders WHERE tenant_id = ? AND id = ?"
	// Two listings rather than one with an optional condition, so that
	// each uses the index that fits it.
	listOrders      = "SELECT " + orderColumns + " FROM orders WHERE tenant_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?"
	listOwnerOrders = "SELECT " + orderColumns + " FROM orders WHERE tenant_id = ? AND owner_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?"
)

func scanOrder(row scanner) (*rampart.Order, error) {
	var o rampart.Order
	return &o, row.Scan(&o.ID, &o.TenantID, &o.OwnerID, jsonColumn{&o.Items}, &o.Note, &o.Status,
		timeColumn{&o.CreatedAt}, timeColumn{&o.UpdatedAt})
}

func (s *Store) CreateOrder(ctx context.Context, o *rampart.Order) error {
	rampart.RoundTimes(o)
	return s.exec(ctx, "create order", "INSERT INTO orders ("+orderColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		o.ID, o.TenantID, o.OwnerID, jsonColumn{o.Items}, o.Note, o.Status, micros(o.CreatedAt), micros(o.UpdatedAt))
}

func (s *Store) GetOrder(ctx context.Context, tenantID, id string) (*rampart.Order, error) {
	return get(ctx, s.reader, "get order", "order", scanOrder, selectOrder, tenantID, id)
}

func (s *Store) ListOrders(ctx context.Context, tenantID string, f rampart.OrderFilter, page rampart.Page) ([]*rampart.Order, rampart.Cursor, error) {
	if f.OwnerID != "" {
		return list(ctx, s, "list orders", page, scanOrder, listOwnerOrders, tenantID, f.OwnerID)
	}
	return list(ctx, s, "list orders", page, scanOrder, listOrders, tenantID)
}

func (s *Store) UpdateOrder(ctx context.Context, tenantID, id string, fn func(*rampart.Order) error) (*rampart.Order, error) {
	return update(ctx, s, "update order", "order", scanOrder, fn, func(tx *sql.Tx, o, _ *rampart.Order) error {
		_, err := tx.ExecContext(ctx, "UPDATE orders SET items = ?, note = ?, status = ?, updated_at = ? WHERE id = ?",
			jsonColumn{o.Items}, o.Note, o.Status, micros(o.UpdatedAt), id)
		if err != nil {
			return dbError("update order", err)
		}
		return nil
	}, selectOrder, tenantID, id)
}

func (s *Store) DeleteOrder(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete order", "order", "DELETE FROM orders WHERE tenant_id = ? AND id = ?", tenantID, id)
}
