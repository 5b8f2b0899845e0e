// Package migrations embeds the goose SQL migrations, one folder per
// dialect. Migrations are append-only: a released file is never edited.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var all embed.FS

// For returns the migrations of a dialect ("sqlite" or "postgres").
func For(dialect string) (fs.FS, error) {
	return fs.Sub(all, dialect)
}
