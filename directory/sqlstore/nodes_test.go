package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/storetest"
)

// nodesOn opens stores on one URL, closing each when the test ends.
func nodesOn(t *testing.T, u string) func() (directory.Store, error) {
	return func() (directory.Store, error) {
		s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { s.Close() })
		return s, nil
	}
}

func TestSQLiteNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) func() (directory.Store, error) {
		return nodesOn(t, "sqlite:"+filepath.Join(t.TempDir(), "keystage.db"))
	})
}

func TestPostgresNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) func() (directory.Store, error) {
		return nodesOn(t, PostgresURL(t))
	})
}
