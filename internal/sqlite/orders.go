package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"example.com/rampart/internal/rampart"
)

const (
	orderColumns = "id, tenant_id, owner_id, items, note, status, created_at, updated_at"
	selectOrder  = "SELECT " + orderColumns + " FROM orders WHERE tenant_id = ? AND id = ?"
)

func scanOrder(row scanner) (*rampart.Order, error) {
	var o rampart.Order
	var items []byte
	var created, updated int64
	if err := row.Scan(&o.ID, &o.TenantID, &o.OwnerID, &items, &o.Note, &o.Status, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(items, &o.Items); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &o, nil
}

func (s *Store) CreateOrder(ctx context.Context, o *rampart.Order) error {
	rampart.RoundTimes(o)
	items, err := json.Marshal(o.Items)
	if err != nil {
		return dbError("create order", err)
	}
	return s.exec(ctx, "create order", "INSERT INTO orders ("+orderColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		o.ID, o.TenantID, o.OwnerID, string(items), o.Note, o.Status, micros(o.CreatedAt), micros(o.UpdatedAt))
}

func (s *Store) GetOrder(ctx context.Context, tenantID, id string) (*rampart.Order, error) {
	return get(ctx, s.reader, "get order", "order", scanOrder, selectOrder, tenantID, id)
}

func (s *Store) ListOrders(ctx context.Context, tenantID string, f rampart.OrderFilter, page rampart.Page) ([]*rampart.Order, rampart.Cursor, error) {
	// Two queries rather than one with an optional condition, so that each
	// uses the index that fits it.
	if f.OwnerID == "" {
		return list(ctx, s, "list orders", page, scanOrder,
			"SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?", tenantID)
	}
	return list(ctx, s, "list orders", page, scanOrder,
		"SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND owner_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?", tenantID, f.OwnerID)
}

func (s *Store) UpdateOrder(ctx context.Context, tenantID, id string, fn func(*rampart.Order) error) (*rampart.Order, error) {
	return update(ctx, s, "update order", "order", scanOrder, fn, func(tx *sql.Tx, o, _ *rampart.Order) error {
		items, err := json.Marshal(o.Items)
		if err == nil {
			_, err = tx.ExecContext(ctx, "UPDATE orders SET items = ?, note = ?, status = ?, updated_at = ? WHERE id = ?",
				string(items), o.Note, o.Status, micros(o.UpdatedAt), id)
		}
		if err != nil {
			return dbError("update order", err)
		}
		return nil
	}, selectOrder, tenantID, id)
}

func (s *Store) DeleteOrder(ctx context.Context, tenantID, id string) error {
	return s.execOne(ctx, "delete order", "order", "DELETE FROM orders WHERE tenant_id = ? AND id = ?", tenantID, id)
}
