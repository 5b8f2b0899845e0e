package directory

import (
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// RegisterOf is the access register of one of a trust's schools: its own
// people and those on its roll too (dual registration), now or as of a
// past date (rebuilt from the trail, where each person's school is the one
// their account's events last recorded). TrustScope is the register of the
// trust's own people; an empty school is the whole trust's (Register).
func (d *Directory) RegisterOf(ctx context.Context, school string, asOf time.Time, emit func(audit.RegisterRow) error) error {
	if school == "" {
		return d.Register(ctx, asOf, emit)
	}
	if asOf.IsZero() {
		return d.currentRegisterOf(ctx, school, emit)
	}
	return d.registerAsOf(ctx, asOf, func(r audit.RegisterRow) error {
		if school == TrustScope && r.School != "" || school != TrustScope && !slices.Contains(strings.Split(r.School, "+"), school) {
			return nil
		}
		return emit(r)
	})
}

// registerSchool is the register's School column: the school, then those
// the person is also on the roll of.
func registerSchool(school string, also []string) string {
	if len(also) == 0 {
		return school
	}
	return strings.Join(append([]string{school}, also...), "+")
}

// RegisterOf writes one school's access register as of asOf as CSV (see
// Exports.Register); the portal gives a school's auditor theirs.
func (x Exports) RegisterOf(ctx context.Context, w io.Writer, school string, asOf time.Time) error {
	if x.D.Now().Sub(asOf) < currentSlack {
		asOf = time.Time{}
	}
	rw, err := audit.NewRegisterWriter(w, audit.FormatCSV, x.Location)
	if err != nil {
		return err
	}
	if err := x.D.RegisterOf(ctx, school, asOf, rw.Write); err != nil {
		return err
	}
	return rw.Close()
}
