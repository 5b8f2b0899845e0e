package directory

import "time"

// Suspension takes a person's network access away for a period, with a
// reason; it ends on its own at Until, or when lifted.
type Suspension struct {
	ID          int64
	AccountID   int64
	From        time.Time
	Until       time.Time // zero: until lifted
	Reason      string
	IncidentRef string
	CreatedBy   string
	CreatedAt   time.Time
	LiftedAt    time.Time
	LiftedBy    string
}

// ActiveAt reports whether s is in force at t.
func (s Suspension) ActiveAt(t time.Time) bool {
	if t.Before(s.From) {
		return false
	}
	if !s.Until.IsZero() && !t.Before(s.Until) {
		return false
	}
	return s.LiftedAt.IsZero() || t.Before(s.LiftedAt)
}
