package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"keystage.dev/keystage/lifecycle/exportgen"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// demoExport is the demo's MIS export: a OneRoster 1.1 folder of the demo
// school as seeded, with a few changes a technician can plan and apply in
// the portal or with keystage sync: starters in year 7, movers (a new
// registration group, a new surname) and leavers.
const demoExport = "mis-export"

// demo sets the section up for keystage demo, with its export in dir.
func (s *SyncSection) demo(dir string) {
	s.Source = "oneroster:" + filepath.Join(dir, demoExport)
}

// writeDemoExport writes the demo's MIS export unless it is there already.
func writeDemoExport(dir string, today time.Time) error {
	path := filepath.Join(dir, demoExport)
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	ch := exportgen.Mutate(schoolgen.People(schoolgen.Demo()), exportgen.Mutation{Seed: 7, Movers: 0.01, Leavers: 0.01, Starters: 0.015,
		LeaveDate: day.AddDate(0, 0, -1), StartDate: day.AddDate(0, 0, 7)})
	return exportgen.WriteOneRoster(path, ch.After, ch.Options(day.Add(-time.Hour)))
}
