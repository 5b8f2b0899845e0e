package directory

import (
	"context"
	"io"
	"time"

	"keystage.dev/keystage/audit"
)

// Exports are the auditors' downloads of the portal (portal.Exports): the
// access register as CSV and the audit trail as JSON Lines.
type Exports struct {
	D *Directory
	// Location is the school's time zone, for the dates in the register.
	Location *time.Location
}

// currentSlack is how close to now an as-of instant must be to be read
// from the store rather than rebuilt from the trail: the portal asks for
// "now" when no date is given.
const currentSlack = time.Minute

// Register writes the register as of asOf as CSV.
func (x Exports) Register(ctx context.Context, w io.Writer, asOf time.Time) error {
	if x.D.Now().Sub(asOf) < currentSlack {
		asOf = time.Time{}
	}
	rw, err := audit.NewRegisterWriter(w, audit.FormatCSV, x.Location)
	if err != nil {
		return err
	}
	if err := x.D.Register(ctx, asOf, rw.Write); err != nil {
		return err
	}
	return rw.Close()
}

// Events writes the whole audit trail with its hash chain.
func (x Exports) Events(ctx context.Context, w io.Writer) error {
	_, err := ExportEvents(ctx, x.D.store, w, time.Time{}, time.Time{})
	return err
}
