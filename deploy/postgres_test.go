package deploy

import (
	"context"
	"net/url"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
)

// The connection string postgresql.md recommends works: several hosts,
// the first of them down (a failed primary), and
// target_session_attrs=read-write, which skips any host that is not a
// primary. The node reaches the one that answers and can write.
func TestMultiHostDatabaseURL(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	down := freePort(t) // nothing listens there: the failed primary
	u.Host = down + "," + u.Host
	q := u.Query()
	q.Set("target_session_attrs", "read-write")
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: u.String()})
	if err != nil {
		t.Fatalf("open %s: %v", u.Redacted(), err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// A write (the schema was migrated on open, too) proves the session
	// is on a primary.
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.probe", Target: "probe"})
	}); err != nil {
		t.Fatal(err)
	}
}
