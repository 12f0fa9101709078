package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"example.com/rampart/internal/rampart"
)

const orderColumns = "id, tenant_id, owner_id, items, note, status, created_at, updated_at"

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
	o.CreatedAt = rampart.Timestamp(o.CreatedAt)
	o.UpdatedAt = rampart.Timestamp(o.UpdatedAt)
	items, err := json.Marshal(o.Items)
	if err != nil {
		return dbError("create order", err)
	}
	_, err = s.writer.ExecContext(ctx, "INSERT INTO orders ("+orderColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		o.ID, o.TenantID, o.OwnerID, string(items), o.Note, o.Status, micros(o.CreatedAt), micros(o.UpdatedAt))
	if err != nil {
		return dbError("create order", err)
	}
	return nil
}

func (s *Store) GetOrder(ctx context.Context, tenantID, id string) (*rampart.Order, error) {
	o, err := scanOrder(s.reader.QueryRowContext(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND id = ?", tenantID, id))
	if err != nil {
		return nil, getError("get order", "order", err)
	}
	return o, nil
}

func (s *Store) ListOrders(ctx context.Context, tenantID string, f rampart.OrderFilter, page rampart.Page) ([]*rampart.Order, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	b := page.Before()
	var rows *sql.Rows
	var err error
	// Two queries rather than one with an optional condition, so that each
	// uses the index that fits it.
	if f.OwnerID == "" {
		rows, err = s.reader.QueryContext(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
			tenantID, micros(b.CreatedAt), b.ID, page.Limit+1)
	} else {
		rows, err = s.reader.QueryContext(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND owner_id = ? AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
			tenantID, f.OwnerID, micros(b.CreatedAt), b.ID, page.Limit+1)
	}
	orders, err := collect(rows, err, scanOrder)
	if err != nil {
		return nil, rampart.Cursor{}, dbError("list orders", err)
	}
	orders, next := rampart.NextPage(orders, page.Limit, func(o *rampart.Order) rampart.Cursor {
		return rampart.Cursor{CreatedAt: o.CreatedAt, ID: o.ID}
	})
	return orders, next, nil
}

func (s *Store) UpdateOrder(ctx context.Context, tenantID, id string, fn func(*rampart.Order) error) (*rampart.Order, error) {
	var o *rampart.Order
	err := s.inTx(ctx, "update order", func(tx *sql.Tx) error {
		var err error
		o, err = scanOrder(tx.QueryRowContext(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = ? AND id = ?", tenantID, id))
		if err != nil {
			return getError("update order", "order", err)
		}
		before := *o
		if err := fn(o); err != nil {
			return err
		}
		o.ID, o.TenantID, o.OwnerID, o.CreatedAt = before.ID, before.TenantID, before.OwnerID, before.CreatedAt
		o.UpdatedAt = rampart.Timestamp(o.UpdatedAt)
		items, err := json.Marshal(o.Items)
		if err != nil {
			return dbError("update order", err)
		}
		_, err = tx.ExecContext(ctx, "UPDATE orders SET items = ?, note = ?, status = ?, updated_at = ? WHERE id = ?",
			string(items), o.Note, o.Status, micros(o.UpdatedAt), id)
		if err != nil {
			return dbError("update order", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Store) DeleteOrder(ctx context.Context, tenantID, id string) error {
	res, err := s.writer.ExecContext(ctx, "DELETE FROM orders WHERE tenant_id = ? AND id = ?", tenantID, id)
	return notFoundUnlessChanged("delete order", "order", res, err)
}
