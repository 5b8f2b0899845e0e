package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// OpenRaw opens a database URL without migrating or locking, for tools and
// tests that work beside the store (creating a test schema, say).
func OpenRaw(ctx context.Context, u string) (*sql.DB, error) {
	driver, dsn := "sqlite", "file:"+SQLitePath(u)
	if DialectOf(u) == Postgres {
		driver, dsn = "pgx", u
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", driver, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %s", driver, oneLine(err))
	}
	return db, nil
}
