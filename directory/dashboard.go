package directory

import (
	"context"
	"fmt"
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
	NAS             []NASClient
}

// Dashboard gathers the figures of a technician's home page, each from one
// indexed query or a small table.
func (d *Directory) Dashboard(ctx context.Context, review ReviewPolicy) (Dashboard, error) {
	now := d.Now()
	db := Dashboard{At: now}
	var err error
	if db.Accounts, err = d.Store.AccountCounts(ctx); err != nil {
		return db, err
	}
	if db.MissingConsents, err = d.Store.MissingConsents(ctx); err != nil {
		return db, err
	}
	if d.Lockout != nil {
		if db.Blocks, err = d.Lockout.Blocks(ctx, now); err != nil {
			return db, err
		}
	}
	refused, err := d.Store.SyncRefusals(ctx)
	if err != nil {
		return db, err
	}
	db.Refused = len(refused)
	last, err := d.LastReview(ctx)
	if err != nil {
		return db, err
	}
	db.LastReview, db.NextReview = last.Time, NextReviewDue(last.Time, review, now)
	if db.NAS, err = d.Store.NASClients(ctx); err != nil {
		return db, err
	}
	return db, nil
}
