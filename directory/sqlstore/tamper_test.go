package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// TestVerifyNamesTamperingInTheDatabase tampers with the audit trail by SQL,
// as someone with access to the database would, and checks that
// verification names the event.
func TestVerifyNamesTamperingInTheDatabase(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) directory.Store
	}{{"sqlite", OpenSQLite}, {"postgres", OpenPostgres}}
	cases := []struct {
		name         string
		tamper       func(t *testing.T, db *sql.DB, s directory.Store)
		seq, through int64
		want         error
	}{
		{"intact", func(*testing.T, *sql.DB, directory.Store) {}, 0, 0, nil},
		{"altered", func(t *testing.T, db *sql.DB, _ directory.Store) {
			exec(t, db, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 15")
		}, 15, 15, audit.ErrAltered},
		{"after state altered", func(t *testing.T, db *sql.DB, _ directory.Store) {
			exec(t, db, `UPDATE audit_events SET after_state = '{"n":999}' WHERE seq = 15`)
		}, 15, 15, audit.ErrAltered},
		{"deleted", func(t *testing.T, db *sql.DB, _ directory.Store) {
			exec(t, db, "DELETE FROM audit_events WHERE seq = 15")
		}, 15, 15, audit.ErrMissing},
		{"deleted and renumbered", func(t *testing.T, db *sql.DB, _ directory.Store) {
			exec(t, db, "DELETE FROM audit_events WHERE seq = 15")
			exec(t, db, "UPDATE audit_events SET seq = seq + 1000 WHERE seq > 15")
			exec(t, db, "UPDATE audit_events SET seq = seq - 1001 WHERE seq > 1000")
		}, 15, 15, audit.ErrMissing},
		{"inserted", func(t *testing.T, db *sql.DB, s directory.Store) {
			before := event(t, s, 14)
			fake := audit.Event{Seq: 15, Time: before.Time, Actor: "mallory", Action: "account.create", Target: "account:ghost"}
			audit.Chain(&fake, before.Hash)
			exec(t, db, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 15")
			exec(t, db, "UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000")
			exec(t, db, "INSERT INTO audit_events (seq, at, actor, action, target, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7)",
				fake.Seq, fake.Time.UnixMicro(), fake.Actor, fake.Action, fake.Target, fake.PrevHash, fake.Hash)
		}, 15, 15, audit.ErrInserted},
		{"altered and every later hash rewritten", func(t *testing.T, db *sql.DB, s directory.Store) {
			exec(t, db, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 15")
			rehash(t, db, s, 15)
		}, 11, 20, audit.ErrRewritten},
		{"deleted, renumbered and rewritten", func(t *testing.T, db *sql.DB, s directory.Store) {
			exec(t, db, "DELETE FROM audit_events WHERE seq = 25")
			exec(t, db, "UPDATE audit_events SET seq = seq + 1000 WHERE seq > 25")
			exec(t, db, "UPDATE audit_events SET seq = seq - 1001 WHERE seq > 1000")
			rehash(t, db, s, 25)
		}, 21, 30, audit.ErrRewritten},
		{"tail deleted", func(t *testing.T, db *sql.DB, _ directory.Store) {
			exec(t, db, "DELETE FROM audit_events WHERE seq > 27")
		}, 28, 30, audit.ErrTruncated},
		{"checkpoint moved", func(t *testing.T, db *sql.DB, s directory.Store) {
			exec(t, db, "UPDATE audit_checkpoints SET hash = $1 WHERE seq = 20", event(t, s, 19).Hash)
		}, 0, 0, audit.ErrBadSignature},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					ctx := context.Background()
					s := b.open(t)
					keys := seedTrail(t, s)
					c.tamper(t, s.(*sqlstore.Store).DB(), s)
					rep, err := directory.VerifyTrail(ctx, s, keys)
					if c.want == nil {
						if err != nil || rep.Events != 35 || rep.CoveredSeq != 30 || rep.Checkpoints != 3 {
							t.Fatalf("intact trail: %+v %v", rep, err)
						}
						return
					}
					if !errors.Is(err, c.want) {
						t.Fatalf("err = %v, want %v", err, c.want)
					}
					var ce *audit.ChainError
					if c.seq != 0 && (!errors.As(err, &ce) || ce.Seq != c.seq || ce.Through != c.through) {
						t.Fatalf("err = %v, want events %d to %d", err, c.seq, c.through)
					}
				})
			}
		})
	}
}

func TestCheckpointRefusesABrokenChain(t *testing.T) {
	ctx := context.Background()
	s := OpenSQLite(t)
	seedTrail(t, s)
	exec(t, s.(*sqlstore.Store).DB(), "UPDATE audit_events SET actor = 'mallory' WHERE seq = 33")
	pemKey, _ := audit.GenerateSigningKey()
	key, _ := audit.ParseSigningKey(pemKey)
	_, made, err := directory.Checkpoint(ctx, s, audit.NewSigner(key), time.Now())
	var ce *audit.ChainError
	if made || !errors.As(err, &ce) || ce.Seq != 33 {
		t.Fatalf("checkpoint over an altered event 33: made %v, %v", made, err)
	}
}

// seedTrail records 35 events with a checkpoint after every tenth.
func seedTrail(t *testing.T, s directory.Store) audit.Keys {
	t.Helper()
	ctx := context.Background()
	pemKey, _ := audit.GenerateSigningKey()
	key, err := audit.ParseSigningKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	signer := audit.NewSigner(key)
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	for i := 1; i <= 35; i++ {
		if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			return tx.Record(ctx, &audit.Event{Time: t0.Add(time.Duration(i) * time.Minute), Actor: "sync", Action: "test.note",
				Target: fmt.Sprintf("account:p%d", i), After: audit.Snapshot(map[string]int{"n": i})})
		}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			if _, made, err := directory.Checkpoint(ctx, s, signer, t0.Add(time.Hour)); err != nil || !made {
				t.Fatalf("checkpoint after %d: %v %v", i, made, err)
			}
		}
	}
	if _, made, err := directory.Checkpoint(ctx, s, signer, t0.Add(time.Hour)); err != nil || !made {
		t.Fatalf("checkpoint of 35: %v %v", made, err)
	}
	if _, made, _ := directory.Checkpoint(ctx, s, signer, t0.Add(2*time.Hour)); made {
		t.Fatal("a second checkpoint of an unmoved head was made")
	}
	// The last checkpoint (35) is dropped so that events 31 to 35 are
	// covered by the chain alone, as between two checkpoints in service.
	exec(t, s.(*sqlstore.Store).DB(), "DELETE FROM audit_checkpoints WHERE seq = 35")
	return audit.NewKeys(signer.Public())
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func event(t *testing.T, s directory.Store, seq int64) audit.Event {
	t.Helper()
	es, err := s.AuditEvents(context.Background(), seq-1, 1)
	if err != nil || len(es) != 1 {
		t.Fatalf("event %d: %v", seq, err)
	}
	return es[0]
}

// rehash recomputes the hashes from event from on, so that the chain is
// whole again and only a checkpoint can tell.
func rehash(t *testing.T, db *sql.DB, s directory.Store, from int64) {
	t.Helper()
	prev := event(t, s, from-1).Hash
	es, err := s.AuditEvents(context.Background(), from-1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		audit.Chain(&e, prev)
		exec(t, db, "UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3", e.PrevHash, e.Hash, e.Seq)
		prev = e.Hash
	}
}
