package sqlite

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"
)

// The schema stores times as INTEGER microseconds since the Unix epoch, and
// optional times as NULL when zero; lists (order items, scopes, recovery
// code hashes) as JSON text.

func micros(t time.Time) int64 { return t.UnixMicro() }

func optMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// timeColumn scans microseconds into the time it points to; NULL is the
// zero time.
type timeColumn struct{ t *time.Time }

func (c timeColumn) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("sqlite: a time stored as %T", src)
	}
	return nil
}

// jsonColumn writes v as JSON text, and scans JSON text into v, a pointer.
type jsonColumn struct{ v any }

func (c jsonColumn) Value() (driver.Value, error) {
	b, err := json.Marshal(c.v)
	return string(b), err
}

func (c jsonColumn) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return json.Unmarshal([]byte(v), c.v)
	case []byte:
		return json.Unmarshal(v, c.v)
	}
	return fmt.Errorf("sqlite: JSON stored as %T", src)
}
