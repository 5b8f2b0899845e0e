package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/private"
	"keystage.dev/keystage/server"
)

// The demo's sign-ins. They are fictional and printed for anyone to try;
// every demo account of a role shares its role's password.
const (
	demoStaffPassword = "Kestrel-Harbour-47"
	demoPupilPassword = "Maple-Comet-52"
	demoNASSecret     = "demo-radius-secret"
)

func cmdDemo(e *env, args []string) error {
	fs := e.newFlags("demo", "[--reset] [--no-serve] [--trust]")
	trust := fs.Bool("trust", false, "a trust of two schools with different AUPs (docs/trusts.md)")
	reset := fs.Bool("reset", false, "delete the demo data directory and seed it anew")
	noServe := fs.Bool("no-serve", false, "seed (or reuse) the demo school, print the hints and exit")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	dir := e.dataDir
	if dir == "" {
		dir = "keystage-demo"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if *reset {
		if _, err := os.Stat(filepath.Join(abs, "keystage.db")); err == nil || errors.Is(err, os.ErrNotExist) {
			if err := os.RemoveAll(abs); err != nil {
				return err
			}
		}
	}
	if err := private.Dir(abs); err != nil {
		return fmt.Errorf("demo data directory: %w", err)
	}
	cfg, err := loadConfig(e.configPath, abs)
	if err != nil {
		return err
	}
	cfg.School = "Keystage Demo Academy"
	cfg.Database.URL = "" // the demo is always SQLite in its own directory
	cfg.LDAP.demo(abs)
	cfg.RADIUS.demo(abs)
	if _, _, _, err := demoPKI(abs); err != nil {
		return fmt.Errorf("demo certificates: %w", err)
	}
	e.demoDir = abs
	cfg.Portal.demo(abs)
	cfg.Sync.demo(abs)
	if err := writeDemoExport(abs, time.Now()); err != nil {
		return fmt.Errorf("demo MIS export: %w", err)
	}
	if *trust {
		if err := demoTrust(cfg, abs); err != nil {
			return fmt.Errorf("demo trust: %w", err)
		}
	}
	cfg.Metrics.Listen = "127.0.0.1:9464"
	if err := cfg.validate().err("demo configuration"); err != nil {
		return err
	}
	e.cfg = cfg
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := e.directoryWithKeys(s, true)
	if err != nil {
		return err
	}
	n, err := s.CountAccounts(e.ctx, directory.AccountQuery{})
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(e.stdout, "Seeding the demo school into %s …\n", abs)
		if err := seedDemo(e, d); err != nil {
			return fmt.Errorf("seeding the demo school: %w", err)
		}
		if *trust {
			if err := seedDemoTrust(e, d, cfg); err != nil {
				return fmt.Errorf("seeding the demo trust: %w", err)
			}
		}
	} else {
		fmt.Fprintf(e.stdout, "Reusing the demo school in %s (%d accounts); --reset starts afresh.\n", abs, n)
	}
	// Served as keystage serve serves: through the in-memory view.
	d = e.directoryWith(directory.NewView(s, e.logger()), d.Sealer())
	fes, err := e.frontends(s, d, cfg)
	if err != nil {
		return err
	}
	teacher, pupil := demoNames(e.ctx, s)
	printDemoHints(e, abs, teacher, pupil, fes)
	if *trust {
		printDemoTrustHints(e, abs)
	}
	if len(fes) == 0 || *noServe {
		for _, f := range fes {
			if f.Close != nil {
				f.Close()
			}
		}
		return nil
	}
	return server.Run(e.ctx, e.logger(), fes)
}

func printDemoHints(e *env, dir, demoTeacher, demoPupil string, fes []server.Frontend) {
	w := e.stdout
	fmt.Fprintf(w, `
Keystage demo: Keystage Demo Academy, 30 staff and 300 pupils in years 7 to 11.
Data: %s (SQLite). Stop with Ctrl-C; run again to reuse it.

Sign-ins (fictional):
  teacher    %-14s password %s
  pupil      %-14s password %s
  (every demo staff account uses the staff password, every pupil the pupil one)

Try, in another terminal:
  go run ./cmd/keystage --data %s account list --role staff
  go run ./cmd/keystage --data %s account show %s
  the MIS sync: MIS sync in the portal (as the technician), or run, beside
  the demo: go run ./cmd/keystage --data %s sync --from oneroster:%s/%s
`, dir, demoTeacher, demoStaffPassword, demoPupil, demoPupilPassword, dir, dir, demoPupil, dir, dir, demoExport)
	for _, f := range fes {
		if len(f.Hints) == 0 && len(f.Setup) == 0 {
			continue
		}
		if len(f.Addrs) > 0 {
			fmt.Fprintf(w, "\n%s (%s):\n", f.Name, strings.Join(f.Addrs, ", "))
		} else {
			fmt.Fprintf(w, "\n%s:\n", f.Name)
		}
		for _, h := range f.Hints {
			fmt.Fprintf(w, "  %s\n", h)
		}
		for _, h := range f.Setup {
			fmt.Fprintf(w, "  %s\n", h)
		}
	}
	fmt.Fprintln(w)
}
