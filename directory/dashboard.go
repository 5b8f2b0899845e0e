package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"keystage.dev/keystage/audit"
	"slices"
	"strings"
	"time"
)

// Block is a lock the lockout holds now: an account (from every source or
// from new devices) or a source.
type Block struct {
	Kind     string // "account", "unfamiliar" or "source" (see KeyKind)
	Subject  string // the username, or the source ("ldap:192.0.2.7")
	Failures int
	Until    time.Time
}

// maxBlocksListed bounds the counters read for the dashboard: a flood
// leaves many, and a page shows the latest.
const maxBlocksListed = 500

// Blocks lists the locks in force at t, latest failure first, from the
// stored counters (the ones a node holds in memory while the database
// cannot be written are not seen), with the rule the lockout itself
// applies (lockEnd).
func (l *Lockout) Blocks(ctx context.Context, t time.Time) ([]Block, error) {
	c := l.settings()
	least := min(c.Threshold, c.UnfamiliarThreshold, c.SourceThreshold)
	counters, err := l.Store.RecentFailures(ctx, t.Add(-c.lookback()), least, maxBlocksListed)
	if err != nil {
		return nil, fmt.Errorf("lockout blocks: %w", err)
	}
	var out []Block
	for _, k := range counters {
		kind := KeyKind(k.Key)
		th, subject := c.SourceThreshold, strings.TrimPrefix(k.Key, sourcePrefix)
		switch kind {
		case "account":
			th, subject = c.Threshold, strings.TrimPrefix(k.Key, accountPrefix)
		case "unfamiliar":
			th, subject = c.UnfamiliarThreshold, strings.TrimPrefix(k.Key, unfamiliarPrefix)
		}
		if until := lockEnd(&c, k.Count, th, k.LastAt, t); !until.IsZero() {
			out = append(out, Block{Kind: kind, Subject: subject, Failures: k.Count, Until: until})
		}
	}
	return out, nil
}

// Dashboard is a technician's overview.
type Dashboard struct {
	At              time.Time
	Accounts        []AccountCount
	MissingConsents int
	Blocks          []Block
	Refused         int // MIS rows the sync refused, waiting in its queue
	LastReview      time.Time
	NextReview      time.Time
	NAS             []NASHeard
	// Failures are the failed sign-ins of the last 24 hours by service,
	// from the lockout's signin.failures events; FailuresCapped says the
	// events were too many to read them all (the figures are then a floor).
	Failures       []ServiceFailures
	FailuresCapped bool
	// Unsigned are, for each audience with a policy in force, the active
	// people who must sign it and have not signed a version that counts.
	Unsigned []AudienceUnsigned
}

// AudienceUnsigned is how many of an audience are still to sign the
// version in force.
type AudienceUnsigned struct {
	Audience string
	Version  string
	N        int
}

// ServiceFailures is how many sign-ins failed on one service ("ldap",
// "radius", "portal"; "several" for an account that failed on more than
// one within a summing-up; "unknown username" for names that are not
// accounts, on any service).
type ServiceFailures struct {
	Service string
	N       int
}

// maxFailureEvents bounds the events read for the day's failures: the
// lockout writes at most a few hundred every AuditEvery.
const maxFailureEvents = 20000

// FailuresSince sums the failed sign-ins since t by service, from the
// lockout's audit events.
func (d *Directory) FailuresSince(ctx context.Context, t time.Time) ([]ServiceFailures, bool, error) {
	return d.failuresSince(ctx, t, SchoolScope{})
}

// failuresSince is FailuresSince within a scope: a school's counts the
// events of its people's accounts (an event names the account's schools
// since they were recorded; the summed-up rest of a flood, and names that
// are not accounts, are the trust's alone).
func (d *Directory) failuresSince(ctx context.Context, t time.Time, scope SchoolScope) ([]ServiceFailures, bool, error) {
	evs, err := d.store.AuditEventsByAction(ctx, string(audit.ActionSigninFailures), t, maxFailureEvents)
	if err != nil {
		return nil, false, fmt.Errorf("failed sign-ins: %w", err)
	}
	sum := map[string]int{}
	for _, e := range evs {
		var v struct {
			Familiar     int      `json:"familiar"`
			Unfamiliar   int      `json:"unfamiliar"`
			Sources      []string `json:"sources"`
			UnknownNames int      `json:"unknown_names"`
			Schools      []string `json:"schools"`
		}
		if json.Unmarshal(e.After, &v) != nil {
			continue
		}
		if !scope.Trust() && !slices.Contains(v.Schools, scope.School) {
			continue
		}
		if v.UnknownNames > 0 {
			sum["unknown username"] += v.UnknownNames
		}
		n := v.Familiar + v.Unfamiliar
		if n == 0 {
			continue
		}
		svc := ""
		for _, src := range v.Sources {
			kind, _, _ := strings.Cut(src, ":")
			switch {
			case svc == "":
				svc = kind
			case svc != kind:
				svc = "several"
			}
		}
		if svc == "" {
			svc = "unknown"
		}
		sum[svc] += n
	}
	out := make([]ServiceFailures, 0, len(sum))
	for svc, n := range sum {
		out = append(out, ServiceFailures{Service: svc, N: n})
	}
	slices.SortFunc(out, func(a, b ServiceFailures) int { return strings.Compare(a.Service, b.Service) })
	return out, len(evs) == maxFailureEvents, nil
}

// NASHeard is a NAS client and when it was last heard from (zero: never
// since the record began).
type NASHeard struct {
	Name      string
	Vendor    string
	LastHeard time.Time
}

// Dashboard gathers the figures of a technician's home page for the whole
// trust (see DashboardOf).
func (d *Directory) Dashboard(ctx context.Context, review ReviewPolicy) (Dashboard, error) {
	return d.DashboardOf(ctx, review, SchoolScope{})
}

// DashboardOf gathers the figures of a technician's home page as the scope
// sees them, each from one indexed query or a small table: a school's
// technician counts the accounts in the school's scope (its own and those
// dual-registered there), its pupils without consent, its people still to
// sign their documents, the refused rows of its part of the trust-wide
// export, and the failed sign-ins and locks of its people; the NAS clients
// are the trust's and shown to both.
func (d *Directory) DashboardOf(ctx context.Context, review ReviewPolicy, scope SchoolScope) (Dashboard, error) {
	now := d.Now()
	db := Dashboard{At: now}
	var err error
	if scope.Trust() {
		db.Accounts, err = d.store.AccountCounts(ctx)
	} else {
		db.Accounts, err = d.store.SchoolAccountCounts(ctx, scope.School)
	}
	if err != nil {
		return db, err
	}
	if scope.Trust() {
		db.MissingConsents, err = d.store.MissingConsents(ctx)
	} else {
		db.MissingConsents, err = d.store.SchoolMissingConsents(ctx, scope.School)
	}
	if err != nil {
		return db, err
	}
	if d.lockout != nil {
		if db.Blocks, err = d.lockout.Blocks(ctx, now); err != nil {
			return db, err
		}
		if db.Blocks, err = d.blocksIn(ctx, db.Blocks, scope); err != nil {
			return db, err
		}
	}
	refused, err := d.store.SyncRefusals(ctx)
	if err != nil {
		return db, err
	}
	for _, r := range refused {
		if scope.Trust() || strings.HasSuffix(r.Source, "#"+scope.School) {
			db.Refused++
		}
	}
	last, err := d.LastReviewOf(ctx, scope.School)
	if err != nil {
		return db, err
	}
	db.LastReview, db.NextReview = last.Time, NextReviewDue(last.Time, review, now)
	if db.Failures, db.FailuresCapped, err = d.failuresSince(ctx, now.Add(-24*time.Hour), scope); err != nil {
		return db, err
	}
	clients, err := d.store.NASClients(ctx)
	if err != nil {
		return db, err
	}
	heard, err := d.store.NASHeard(ctx)
	if err != nil {
		return db, err
	}
	for _, c := range clients {
		db.NAS = append(db.NAS, NASHeard{Name: c.Name, Vendor: c.Vendor, LastHeard: heard[c.Name]})
	}
	if db.Unsigned, err = d.unsignedAUPs(ctx, now, scope); err != nil {
		return db, err
	}
	return db, nil
}

// blocksIn keeps the locks a scope may see: a school's, those of its
// people's accounts and of sources (an address is no one's); at most
// maxBlocksListed accounts are looked up, one indexed read each.
func (d *Directory) blocksIn(ctx context.Context, blocks []Block, scope SchoolScope) ([]Block, error) {
	if scope.Trust() {
		return blocks, nil
	}
	var out []Block
	for _, b := range blocks {
		if b.Kind == "account" || b.Kind == "unfamiliar" {
			a, err := d.store.AccountByUsername(ctx, b.Subject)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("dashboard locks: %w", err)
			}
			if !scope.Covers(a) {
				continue
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// unsignedPage is how many accounts UnsignedAUPs reads at a time.
const unsignedPage = 2000

// UnsignedAUPs counts, for each audience with a policy in force at t, the
// active people who must sign it (by the gate's own audiences) and have
// not signed a version that still counts, by the gate's own rule
// (SignedStatus). It reads the accounts a page at a time with their
// signatures in one read each, so its cost follows the school, not the
// history; an audience with nothing published costs nothing.
func (d *Directory) UnsignedAUPs(ctx context.Context, t time.Time) ([]AudienceUnsigned, error) {
	return d.unsignedAUPs(ctx, t, SchoolScope{})
}

// unsignedAUPs is UnsignedAUPs within a scope: a school's active people
// (its own and those dual-registered there), each by their own school's
// documents, and the versions shown are those of the school's documents
// and the trust's.
func (d *Directory) unsignedAUPs(ctx context.Context, t time.Time, scope SchoolScope) ([]AudienceUnsigned, error) {
	docs, err := d.store.AUPDocuments(ctx)
	if err != nil {
		return nil, fmt.Errorf("unsigned AUPs: %w", err)
	}
	shown := docs
	if !scope.Trust() {
		shown = DocumentsFor(docs, scope.School)
	}
	counts := map[string]int{}
	published := func(aud string) bool {
		st, _ := SignedStatus(shown, nil, aud, t)
		return st != NothingToSign
	}
	if len(docs) == 0 {
		return nil, nil
	}
	byAccount := map[int64][]Signature{}
	q := scope.Query(AccountQuery{Status: StatusActive, Limit: unsignedPage})
	for {
		page, err := d.store.ListAccounts(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("unsigned AUPs: %w", err)
		}
		if len(page) == 0 {
			break
		}
		sigs, err := d.store.SignaturesBetween(ctx, q.AfterID, page[len(page)-1].ID)
		if err != nil {
			return nil, fmt.Errorf("unsigned AUPs: %w", err)
		}
		clear(byAccount)
		for _, s := range sigs {
			byAccount[s.AccountID] = append(byAccount[s.AccountID], s)
		}
		for _, a := range page {
			for _, aud := range d.gate.Policy.AudiencesOf(a) {
				if !published(aud) {
					continue
				}
				if st, _ := SignedStatus(DocumentsFor(docs, a.School), byAccount[a.ID], aud, t); st == Unsigned {
					counts[aud]++
				}
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	var out []AudienceUnsigned
	for _, aud := range d.gate.Policy.KnownAudiences() {
		cur, ok := CurrentDocument(shown, aud, t)
		if !ok {
			continue
		}
		out = append(out, AudienceUnsigned{Audience: aud, Version: cur.Version, N: counts[aud]})
	}
	return out, nil
}
