package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"example.com/rampart/internal/rampart"
)

const orderColumns = "id, tenant_id, owner_id, items, note, status, created_at, updated_at"

func scanOrder(row pgx.Row) (*rampart.Order, error) {
	var o rampart.Order
	if err := row.Scan(&o.ID, &o.TenantID, &o.OwnerID, &o.Items, &o.Note, &o.Status, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return nil, err
	}
	return &o, nil
}

func (s *Store) CreateOrder(ctx context.Context, o *rampart.Order) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	o.CreatedAt = rampart.Timestamp(o.CreatedAt)
	o.UpdatedAt = rampart.Timestamp(o.UpdatedAt)
	_, err := s.pool.Exec(ctx, "INSERT INTO orders ("+orderColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		o.ID, o.TenantID, o.OwnerID, o.Items, o.Note, o.Status, o.CreatedAt, o.UpdatedAt)
	if err != nil {
		return s.dbError("create order", err)
	}
	return nil
}

func (s *Store) GetOrder(ctx context.Context, tenantID, id string) (*rampart.Order, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	o, err := scanOrder(s.pool.QueryRow(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if err != nil {
		return nil, s.getError("get order", "order", err)
	}
	return o, nil
}

func (s *Store) ListOrders(ctx context.Context, tenantID string, f rampart.OrderFilter, page rampart.Page) ([]*rampart.Order, rampart.Cursor, error) {
	if err := page.Check(); err != nil {
		return nil, rampart.Cursor{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	b := page.Before()
	var rows pgx.Rows
	var err error
	// Two queries rather than one with an optional condition, so that each
	// gets a plan with the index that fits it.
	if f.OwnerID == "" {
		rows, err = s.pool.Query(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4",
			tenantID, b.CreatedAt, b.ID, page.Limit+1)
	} else {
		rows, err = s.pool.Query(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = $1 AND owner_id = $2 AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $5",
			tenantID, f.OwnerID, b.CreatedAt, b.ID, page.Limit+1)
	}
	orders, err := collect(rows, err, scanOrder)
	if err != nil {
		return nil, rampart.Cursor{}, s.dbError("list orders", err)
	}
	orders, next := rampart.NextPage(orders, page.Limit, func(o *rampart.Order) rampart.Cursor {
		return rampart.Cursor{CreatedAt: o.CreatedAt, ID: o.ID}
	})
	return orders, next, nil
}

func (s *Store) UpdateOrder(ctx context.Context, tenantID, id string, fn func(*rampart.Order) error) (*rampart.Order, error) {
	var o *rampart.Order
	err := s.inTx(ctx, "update order", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		o, err = scanOrder(tx.QueryRow(ctx, "SELECT "+orderColumns+" FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenantID, id))
		if err != nil {
			return s.getError("update order", "order", err)
		}
		before := *o
		if err := fn(o); err != nil {
			return err
		}
		o.ID, o.TenantID, o.OwnerID, o.CreatedAt = before.ID, before.TenantID, before.OwnerID, before.CreatedAt
		o.UpdatedAt = rampart.Timestamp(o.UpdatedAt)
		_, err = tx.Exec(ctx, "UPDATE orders SET items = $1, note = $2, status = $3, updated_at = $4 WHERE id = $5",
			o.Items, o.Note, o.Status, o.UpdatedAt, id)
		if err != nil {
			return s.dbError("update order", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Store) DeleteOrder(ctx context.Context, tenantID, id string) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "DELETE FROM orders WHERE tenant_id = $1 AND id = $2", tenantID, id)
	return s.notFoundUnlessChanged("delete order", "order", tag, err)
}
