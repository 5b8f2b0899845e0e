package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/private"
)

// config loads the configuration once.
func (e *env) config() (*Config, error) {
	if e.cfg != nil {
		return e.cfg, nil
	}
	cfg, err := loadConfig(e.configPath, e.dataDir)
	if err != nil {
		return nil, err
	}
	e.cfg = cfg
	return cfg, nil
}

// logger is the structured log, on standard error.
func (e *env) logger() *slog.Logger {
	if e.log != nil {
		return e.log
	}
	level := slog.LevelInfo
	format := "text"
	if e.cfg != nil {
		_ = level.UnmarshalText([]byte(e.cfg.Log.Level))
		format = e.cfg.Log.Format
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		e.log = slog.New(slog.NewJSONHandler(e.stderr, opts))
	} else {
		e.log = slog.New(slog.NewTextHandler(e.stderr, opts))
	}
	return e.log
}

// openStore opens the configured store. A read-only open of SQLite does not
// take the writer's lock, so it works beside a running server.
func (e *env) openStore(readOnly bool) (*sqlstore.Store, error) {
	return e.openStoreWith(sqlstore.Config{ReadOnly: readOnly})
}

func (e *env) openStoreWith(sc sqlstore.Config) (*sqlstore.Store, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	u := cfg.DatabaseURL()
	if sqlstore.DialectOf(u) == sqlstore.SQLite && cfg.Database.URL == "" {
		if st, err := os.Stat(cfg.DataDir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("data directory %s does not exist or is not a directory: create it, or point --data at it", cfg.DataDir)
		}
	}
	sc.URL = u
	if sc.Log == nil {
		sc.Log = e.logger()
	}
	if sqlstore.DialectOf(u) == sqlstore.SQLite && !sc.ReadOnly && !sc.StatusOnly {
		// The store holds every hash and name: its directory is 0700.
		dir := filepath.Dir(sqlstore.SQLitePath(u))
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			if err := private.Dir(dir); err != nil {
				return nil, fmt.Errorf("data directory: %w", err)
			}
		}
	}
	s, err := sqlstore.Open(e.ctx, sc)
	if err == nil && slices.Contains(s.Migrated(), userPrivateGroups) && movedGIDs(e, s) {
		// Any command may be the first to open an upgraded store (keystage
		// serve under systemd, usually): say where the mapping is.
		e.logger().Warn("migration 00110 gave each person a group of their own and moved every group's gidNumber; " +
			"run keystage migrate gids for the old-to-new mapping and the chgrp that fixes files owned by an old gid")
	}
	return s, err
}

// movedGIDs reports whether migration 00110 moved any gid (a new store
// has none to move).
func movedGIDs(e *env, s *sqlstore.Store) bool {
	cs, err := s.GIDChanges(e.ctx)
	return err == nil && len(cs) > 0
}
