package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/slips"
	"keystage.dev/keystage/terminal"
)

// passwordIssue gives first passwords to one person, a group or every
// active account without a password, and writes their slips.
func passwordIssue(e *env, args []string) error {
	fs := e.newFlags("password issue", "(--user NAME | --reg 7A | --year 7 | --group NAME | --starters) [--out FILE] [--csv FILE]")
	user := fs.String("user", "", "one person, by username")
	reg := fs.String("reg", "", "the pupils of a registration group")
	year := fs.String("year", "", "the pupils of a year group")
	group := fs.String("group", "", "the members of a group (a class from the MIS, say)")
	starters := fs.Bool("starters", false, "every active account that has no password")
	out := fs.String("out", "", "write the printable slips (HTML, A4) to this new file, 0600 (default: standard output)")
	csvFile := fs.String("csv", "", "also write a CSV for a mail merge to this new file, 0600: delete it once merged")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected %q: name the person with --user", pos[0])
	}
	n := 0
	for _, set := range []bool{*user != "", *reg != "", *year != "", *group != "", *starters} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usagef("say whom: one of --user, --reg, --year, --group or --starters")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	d := e.directory(s)
	var people []directory.Account
	switch {
	case *user != "":
		a, err := e.findAccount(s, *user)
		if err != nil {
			return err
		}
		people = []directory.Account{a}
	case *group != "":
		g, err := s.GroupByName(e.ctx, *group)
		if errors.Is(err, directory.ErrNotFound) {
			return fmt.Errorf("no group %q (try keystage group list)", *group)
		}
		if err != nil {
			return err
		}
		names, err := s.Members(e.ctx, g.ID)
		if err != nil {
			return err
		}
		scope, err := e.actingScope(s)
		if err != nil {
			return err
		}
		for _, u := range names {
			a, err := s.AccountByUsername(e.ctx, u)
			if err != nil {
				return err
			}
			if !scope.Covers(a) {
				fmt.Fprintf(e.stderr, "%s left out: not at your school\n", a.Username)
				continue
			}
			people = append(people, a)
		}
	default:
		q := directory.AccountQuery{RegGroup: *reg, YearGroup: *year, ByName: true}
		if *reg != "" || *year != "" {
			q.Role = directory.RolePupil
		}
		if *starters {
			q.Status = directory.StatusActive
		}
		if q, err = e.scopeQuery(q, s); err != nil {
			return err
		}
		all, err := s.ListAccounts(e.ctx, q)
		if err != nil {
			return err
		}
		for _, a := range all {
			if *starters {
				if a.Role == directory.RoleService {
					continue
				}
				has, err := d.HasPassword(e.ctx, a)
				if err != nil {
					return err
				}
				if has {
					continue
				}
			}
			people = append(people, a)
		}
	}
	if len(people) == 0 {
		fmt.Fprintln(e.stderr, "nobody to give a first password to: check the name of the group, or keystage account list")
		return nil
	}
	return issueAndPrint(e, d, people, false, *out, *csvFile)
}

// passwordReset gives one person a new first password with its slip.
func passwordReset(e *env, args []string) error {
	fs := e.newFlags("password reset", "NAME [--out FILE] [--csv FILE]")
	out := fs.String("out", "", "write the printable slip (HTML, A4) to this new file, 0600 (default: standard output)")
	csvFile := fs.String("csv", "", "also write a CSV row for a mail merge to this new file, 0600")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	return issueAndPrint(e, e.directory(s), []directory.Account{a}, true, *out, *csvFile)
}

// issueAndPrint issues first passwords and writes their slips: the HTML
// to out (or standard output), the CSV to csvFile when asked. The files
// are created new and 0600, so that an old sheet is never overwritten
// unnoticed and nobody else can read one. The passwords exist nowhere
// else: what cannot be written is lost, and the people must be reset.
func issueAndPrint(e *env, d *directory.Directory, people []directory.Account, reset bool, out, csvFile string) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	// Open the files first: a path that cannot be written must not cost
	// anyone their password.
	var htmlW io.Writer = e.stdout
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	create := func(path string) (*os.File, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%w (choose a new file: one of passwords is never overwritten)", err)
		}
		files = append(files, f)
		return f, nil
	}
	if out != "" {
		if htmlW, err = create(out); err != nil {
			return err
		}
	}
	var csvW io.Writer
	if csvFile != "" {
		if csvW, err = create(csvFile); err != nil {
			return err
		}
	}
	issued, skipped, runErr := d.IssueFirstPasswords(e.ctx, e.actor(), people, cfg.Passwords.First.expiry(), reset)
	sheet := cfg.slipSheet()
	// In a trust, slips of one school's people carry the school's name.
	if school, ok := oneSchool(issued); ok && school != "" {
		sheet.School = cfg.schoolName(school)
	}
	for _, fp := range issued {
		group := fp.Account.RegGroup
		if group == "" {
			group = string(fp.Account.Role)
		}
		sl := slips.Slip{Name: fp.Account.Name(), Username: fp.Account.Username, Group: group,
			Password: fp.Password, ExpiresAt: fp.ExpiresAt, School: fp.Account.School}
		if fp.Account.School != "" {
			sl.SchoolName = cfg.schoolName(fp.Account.School)
		}
		sheet.Slips = append(sheet.Slips, sl)
	}
	if len(issued) > 0 {
		if err := slips.WriteHTML(htmlW, sheet); err != nil {
			return fmt.Errorf("writing the slips (%d people have new first passwords that are now lost: run this again): %w", len(issued), err)
		}
		if csvW != nil {
			if err := slips.WriteCSV(csvW, sheet); err != nil {
				return fmt.Errorf("writing the CSV: %w", err)
			}
		}
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name(), err)
		}
	}
	files = nil
	verb := "issued"
	if reset {
		verb = "reset"
	}
	fmt.Fprintf(e.stderr, "%s %d first password(s), valid for %d days unless used; they must be changed at the first sign-in\n",
		verb, len(issued), cfg.Passwords.First.ExpiryDays)
	if out != "" && len(issued) > 0 {
		fmt.Fprintf(e.stderr, "slips in %s: print it, then delete it (shred -u %s)\n", out, out)
	}
	if csvFile != "" && len(issued) > 0 {
		fmt.Fprintf(e.stderr, "CSV in %s: delete it as soon as the merge is printed (shred -u %s); it holds passwords in clear\n", csvFile, csvFile)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(e.stderr, "skipped %d:\n", len(skipped))
		for _, sk := range skipped {
			fmt.Fprintf(e.stderr, "  %s (%s): %s\n", sk.Account.Username, terminal.Safe(sk.Account.Name()), sk.Reason)
		}
	}
	return runErr
}

// slipSheet is what every slip says, from the configuration.
func (c *Config) slipSheet() slips.Sheet {
	wifi := c.Passwords.First.WiFi
	if wifi == "" && c.Portal.WiFiSSID != "" {
		wifi = "join the network " + c.Portal.WiFiSSID + " with your username and the Wi-Fi password you get in the portal (Wi-Fi page) after you sign in."
	}
	school := c.School
	if strings.TrimSpace(school) == "" {
		school = "School"
	}
	return slips.Sheet{School: school, PortalURL: c.Portal.PublicURL, WiFi: wifi, Location: c.Location(), Branding: c.brands}
}

// passwordState says in words where an account's login password stands,
// and what to do when it has none.
func passwordState(ctx context.Context, s directory.Reader, a directory.Account) (string, error) {
	cs, err := s.Credentials(ctx, a.ID, directory.CredPassword)
	if err != nil {
		return "", err
	}
	now := time.Now()
	for _, c := range cs {
		if !c.RevokedAt.IsZero() {
			continue
		}
		switch {
		case a.MustChangePassword && !c.Live(now):
			return "first password expired unused on " + c.ExpiresAt.Format("2006-01-02") + " (keystage password reset " + a.Username + ")", nil
		case a.MustChangePassword:
			return "first password, to be changed at the first sign-in; unused, it ends on " + c.ExpiresAt.Format("2006-01-02"), nil
		case !c.Live(now):
			return "expired (keystage password reset " + a.Username + ")", nil
		}
		return "set", nil
	}
	return "none (keystage password issue --user " + a.Username + ")", nil
}
