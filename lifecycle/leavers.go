package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// PlanLeavers works out the leaver job as of an instant: MIS accounts
// whose access has ended (leave date and grace passed) are disabled, and
// MIS accounts disabled for longer than the retention period are purged.
// Purging keeps the audit trail and remembers the username so it is not
// handed out again within the retention period. Accounts kept by hand are
// never touched.
//
// A plan as of an instant still to come is a preview: Apply refuses it,
// since it would end access early and purge accounts whose retention has
// not passed. Retention always counts from the day the account was
// really disabled. Disables and purges each have a breaker; a year group
// leaving (or purged) whole at the end of the school year is shown as
// the expected cohort change and is not held to it.
func (e *Engine) PlanLeavers(ctx context.Context, asOf time.Time, opt SyncOptions) (*Plan, error) {
	st, err := load(ctx, e.Dir.Store(), func(n int) { e.progress("reading the directory", n, 0) })
	if err != nil {
		return nil, fmt.Errorf("leavers plan: %w", err)
	}
	p := &Plan{Version: PlanVersion, Job: "leavers", MadeAt: e.Dir.Now(), Fingerprint: st.fingerprint(), AllowMassChange: opt.AllowMassChange, AsOf: asOf}
	held, err := directory.Held(ctx, e.Dir.Store())
	if err != nil {
		return nil, fmt.Errorf("leavers plan: %w", err)
	}
	accts := append([]*directory.Account(nil), st.accounts...)
	sort.Slice(accts, func(i, j int) bool { return accts[i].Username < accts[j].Username })
	loc := e.Policy.loc()
	for _, a := range accts {
		switch a.Status {
		case directory.StatusActive:
			end := e.Policy.AccessEnd(*a)
			if end.IsZero() || end.After(asOf) {
				continue
			}
			p.Changes = append(p.Changes, Change{Kind: KindDisable, MISID: a.MISID, Username: a.Username, AccountID: a.ID, Disable: true,
				Why: []string{"left " + directory.FormatDate(a.LeaveDate) + ", access ended " + end.In(loc).Format("2006-01-02 15:04") +
					": disabled, Wi-Fi credential revoked, live sessions ended"}})
		case directory.StatusDisabled:
			if e.Policy.Retention <= 0 || a.DisabledAt.IsZero() || a.DisabledAt.Add(e.Policy.Retention).After(asOf) {
				continue
			}
			if held[a.ID] {
				p.Changes = append(p.Changes, Change{Kind: KindLegalHold, MISID: a.MISID, Username: a.Username, AccountID: a.ID,
					Why: []string{"past its retention period, but a legal hold is open: kept until the hold is lifted (keystage hold show " + a.Username + ")"}})
				continue
			}
			p.Changes = append(p.Changes, Change{Kind: KindPurge, MISID: a.MISID, Username: a.Username, AccountID: a.ID,
				Why: []string{fmt.Sprintf("disabled %s, longer than the retention period (%s): purged; its audit trail is kept",
					a.DisabledAt.In(loc).Format(directory.DateLayout), retentionWords(e.Policy.Retention))}})
		}
	}
	today := e.Policy.day(asOf.In(loc))
	leaving, disableCohort := e.leavingCohorts(p, st, today)
	purged, purgeCohort := e.purgeCohorts(p, st)
	p.Cohorts = append(leaving, purged...)
	var why []string
	if w := e.tooManyDisabled(p, st, disableCohort); w != "" {
		why = append(why, w)
	}
	if w := e.tooManyPurged(p, st, purgeCohort); w != "" {
		why = append(why, w)
	}
	if len(why) > 0 {
		p.Blocked = strings.Join(why, "; ") + ": check the leave dates and the retention period, then run again with --allow-mass-change if they are right"
	}
	return p, nil
}

func retentionWords(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	if days*24*int(time.Hour) == int(d) {
		return fmt.Sprintf("%d days", days)
	}
	return d.String()
}
