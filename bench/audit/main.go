// Command audit seeds a large Keystage store for the audit and register
// benchmarks: a school of -people through the ordinary Store (each account
// with its audit event), then the rest of -events appended straight into
// the audit table in large transactions, correctly chained and with a
// signed checkpoint every -checkpoint-every events, as years of syncs,
// signatures, Wi-Fi renewals and suspensions would leave it. The bulk path
// is for benchmarks only: it writes SQL beside the store, which nothing
// else may do.
//
//	go run ./bench/audit -data /tmp/ks-bench -people 200000 -events 10000000
//	/usr/bin/time -v keystage --data /tmp/ks-bench audit verify
//
// With -url postgres://…?search_path=SCHEMA it seeds PostgreSQL instead
// (-data then only holds the signing key).
package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

func main() {
	data := flag.String("data", "", "data `directory` to seed (created; must not hold a store yet); it holds the signing key")
	dbURL := flag.String("url", "", "seed this PostgreSQL `URL` (an empty schema, via search_path) instead of SQLite in -data")
	people := flag.Int("people", 200000, "people in the school")
	events := flag.Int64("events", 10_000_000, "events in the trail in all")
	every := flag.Int64("checkpoint-every", 10_000, "sign a checkpoint every this many events")
	flag.Parse()
	if *data == "" {
		fail("give -data DIR")
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		fail("%v", err)
	}
	u := *dbURL
	if u == "" {
		dbPath := filepath.Join(*data, "keystage.db")
		if _, err := os.Stat(dbPath); err == nil {
			fail("%s exists: seed into an empty directory", dbPath)
		}
		u = "sqlite:" + dbPath
	}
	signer, err := signingKey(filepath.Join(*data, "audit-signing.key"))
	if err != nil {
		fail("signing key: %v", err)
	}
	ctx := context.Background()

	t0 := time.Now()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
	if err != nil {
		fail("%v", err)
	}
	accts, err := schoolgen.Seed(ctx, s, schoolgen.People(schoolgen.Large(*people)), schoolgen.SeedOptions{Batch: 5000, Actor: "bench"})
	if err != nil {
		fail("seeding people: %v", err)
	}
	s.Close()
	seedPeople := time.Since(t0)
	fmt.Printf("seeded %d people in %s\n", len(accts), seedPeople.Round(time.Millisecond))

	t1 := time.Now()
	n, err := bulkEvents(ctx, u, accts, *events, *every, signer)
	if err != nil {
		fail("bulk events: %v", err)
	}
	fmt.Printf("appended %d events (with a checkpoint every %d) in %s\n", n, *every, time.Since(t1).Round(time.Millisecond))
}

func signingKey(path string) (*audit.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if data, err = audit.GenerateSigningKey(); err != nil {
			return nil, err
		}
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		return nil, err
	}
	key, err := audit.ParseSigningKey(data)
	if err != nil {
		return nil, err
	}
	return audit.NewSigner(key), nil
}

// bulkEvents appends events until the trail holds total, chaining each on
// the one before, in transactions of a hundred thousand rows.
func bulkEvents(ctx context.Context, u string, accts []directory.Account, total, every int64, signer *audit.Signer) (int64, error) {
	db, err := sqlstore.OpenRaw(ctx, u)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	pg := sqlstore.DialectOf(u) == sqlstore.Postgres
	if !pg {
		for _, p := range []string{"PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-200000"} {
			if _, err := db.ExecContext(ctx, p); err != nil {
				return 0, err
			}
		}
	}
	// placeholders numbers $1… for PostgreSQL; SQLite takes them too.
	placeholders := func(rows, cols int) string {
		var b strings.Builder
		for r := 0; r < rows; r++ {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for c := 0; c < cols; c++ {
				if c > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "$%d", r*cols+c+1)
			}
			b.WriteByte(')')
		}
		return b.String()
	}
	var (
		seq  int64
		prev string
		at   int64
	)
	if err := db.QueryRowContext(ctx, "SELECT seq, hash, at FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev, &at); err != nil {
		return 0, err
	}
	t := time.UnixMicro(at).UTC()
	rng := rand.New(rand.NewPCG(1, 2))
	const rowsPerInsert = 100
	const perTx = 100_000
	var (
		tx    *sql.Tx
		batch []any
		n     int64
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		rows := len(batch) / 9
		q := "INSERT INTO audit_events (seq, at, actor, action, target, before_state, after_state, prev_hash, hash) VALUES " +
			placeholders(rows, 9)
		_, err := tx.ExecContext(ctx, q, batch...)
		batch = batch[:0]
		return err
	}
	for seq < total {
		if tx == nil {
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return n, err
			}
		}
		seq++
		t = t.Add(time.Microsecond)
		a := accts[rng.IntN(len(accts))]
		e := audit.Event{Seq: seq, Time: t, Actor: "sync", Target: audit.AccountTarget(a.Username)}
		switch r := rng.IntN(100); {
		case r < 35:
			// A sync touching the account: year or registration group.
			a.RegGroup = fmt.Sprintf("%s%c", a.YearGroup, 'A'+rune(rng.IntN(8)))
			e.Action, e.Before, e.After = "account.update", audit.Snapshot(a.Snapshot()), audit.Snapshot(a.Snapshot())
		case r < 55:
			e.Action, e.Actor = audit.ActionWiFiIssue, audit.UserActor(a.Username)
			e.After = audit.Snapshot(map[string]any{"credential_id": seq, "key_id": "k1"})
		case r < 70:
			e.Action, e.Actor = audit.ActionAUPSign, audit.UserActor(a.Username)
			e.After = audit.Snapshot(map[string]any{"document_id": 1, "audience": audience(a), "version": "2026.1",
				"digest": "9f2c", "method": "portal", "address": "10.1.2.3"})
		case r < 80:
			e.Action, e.Actor = audit.ActionSuspensionAdd, "user:safeguarding"
			e.After = audit.Snapshot(map[string]any{"from": t, "until": t.Add(7 * 24 * time.Hour), "reason": "misuse", "incident_ref": "INC-1"})
		case r < 85:
			e.Action, e.Actor = audit.ActionSuspensionLift, "user:safeguarding"
			e.After = audit.Snapshot(map[string]any{"lifted_at": t})
		case r < 90:
			e.Action, e.Actor = audit.ActionPasskeyAdd, audit.UserActor(a.Username)
			e.After = audit.Snapshot(map[string]any{"credential_id": seq, "name": "phone"})
		default:
			e.Action, e.Actor, e.Target = "radius.disconnect", "radius", audit.AccountTarget(a.Username)
			e.After = audit.Snapshot(map[string]any{"nas": "core-wlc", "reason": "suspended"})
		}
		audit.Chain(&e, prev)
		prev = e.Hash
		batch = append(batch, e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Target, nullable(e.Before), nullable(e.After), e.PrevHash, e.Hash)
		n++
		if len(batch)/9 == rowsPerInsert {
			if err := flush(); err != nil {
				return n, err
			}
		}
		if seq%every == 0 {
			if err := flush(); err != nil {
				return n, err
			}
			c := signer.Sign(seq, e.Hash, t)
			if _, err := tx.ExecContext(ctx, "INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES ($1,$2,$3,$4,$5)",
				c.Seq, c.Hash, c.Time.UnixMicro(), c.KeyID, base64.StdEncoding.EncodeToString(c.Signature)); err != nil {
				return n, err
			}
		}
		if n%perTx == 0 {
			if err := flush(); err != nil {
				return n, err
			}
			if err := tx.Commit(); err != nil {
				return n, err
			}
			tx = nil
			if n%1_000_000 == 0 {
				fmt.Fprintf(os.Stderr, "  %d events\n", seq)
			}
		}
	}
	if tx != nil {
		if err := flush(); err != nil {
			return n, err
		}
		if err := tx.Commit(); err != nil {
			return n, err
		}
	}
	return n, nil
}

func audience(a directory.Account) string {
	if auds := directory.DefaultAudiences(a); len(auds) > 0 {
		return auds[0]
	}
	return "staff"
}

func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/audit: "+format+"\n", args...)
	os.Exit(1)
}
