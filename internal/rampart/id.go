package rampart

import (
	"time"
	"uuid"
)

// NewID returns a new random identifier: a version 4 UUID in its canonical
// text form. Random (rather than time-ordered) ids reveal nothing about when
// or in which order records were created.
func NewID() string {
	return uuid.New().String()
}

// Timestamp returns t as stores keep it: in UTC, truncated to whole
// microseconds, which is the finest precision PostgreSQL stores. Stores apply
// it to every time they write, so a value read back equals the value written.
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}
