package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/terminal"
)

func cmdAccount(e *env, args []string) error {
	return dispatch(e, "account", "account list | account show NAME | account add --username NAME --role ROLE … | account disable NAME --reason TEXT | account enable NAME --reason TEXT [--force] | account unlock NAME | account legal-name NAME --withhold|--show | account import FILE.ldif [--apply] | account transfer NAME --to SCHOOL | account schools NAME --also SCHOOL,…", args,
		sub{"list", accountList},
		sub{"show", accountShow},
		sub{"add", accountAdd},
		sub{"disable", accountDisable},
		sub{"enable", accountEnable},
		sub{"unlock", accountUnlock},
		sub{"legal-name", accountLegalName},
		sub{"import", accountImport},
		sub{"transfer", accountTransfer},
		sub{"schools", accountSchools})
}

func accountList(e *env, args []string) error {
	fs := e.newFlags("account list", "[--role ROLE] [--status STATUS] [--school ID|trust] [--search TEXT] [--limit N] [--json]")
	school := fs.String("school", "", "only the accounts of this school (with those dual-registered there), or trust: the trust's own")
	role := fs.String("role", "", "only this role: staff, pupil, guest or service")
	status := fs.String("status", "", "only this status: active or disabled")
	search := fs.String("search", "", "only accounts whose username, name or MIS id contains this")
	limit := fs.Int("limit", 0, "at most this many (0: all)")
	asJSON := fs.Bool("json", false, "one JSON object a line")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := directory.AccountQuery{Search: *search, School: *school}
	if *role != "" {
		r, err := directory.ParseRole(*role)
		if err != nil {
			return usagef("%v", err)
		}
		q.Role = r
	}
	if *status != "" {
		if !oneOf(*status, "active", "disabled") {
			return usagef("--status %q: want active or disabled", *status)
		}
		q.Status = directory.Status(*status)
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if err := cfg.checkSchool(*school, true); err != nil {
		return usagef("--school: %v", err)
	}
	// A trust's list has a SCHOOL column; a single school's is as it was.
	trust := len(cfg.Schools) > 0
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	if q, err = e.scopeQuery(q, s); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if !*asJSON {
		if trust {
			fmt.Fprint(tw, "SCHOOL\t")
		}
		fmt.Fprintln(tw, "USERNAME\tROLE\tNAME\tYEAR\tREG\tSTATUS\tMIS ID")
	}
	enc := json.NewEncoder(e.stdout)
	n := 0
	// Page through in constant memory, however large the school.
	for {
		q.Limit = 1000
		if *limit > 0 && *limit-n < q.Limit {
			q.Limit = *limit - n
		}
		page, err := s.ListAccounts(e.ctx, q)
		if err != nil {
			return err
		}
		for _, a := range page {
			if *asJSON {
				if err := enc.Encode(a.Snapshot()); err != nil {
					return err
				}
			} else {
				if trust {
					fmt.Fprintf(tw, "%s\t", schoolColumn(a))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Username, a.Role,
					terminal.Safe(a.Name()), terminal.Safe(a.YearGroup), terminal.Safe(a.RegGroup), a.Status, terminal.Safe(a.MISID))
			}
		}
		n += len(page)
		if len(page) < q.Limit || (*limit > 0 && n >= *limit) {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	if *asJSON {
		return nil
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d account(s)\n", n)
	return nil
}

func accountShow(e *env, args []string) error {
	fs := e.newFlags("account show", "NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := e.ctx
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	return printAccount(ctx, e, s, a)
}

func printAccount(ctx context.Context, e *env, s directory.Store, a directory.Account) error {
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", k, terminal.Safe(v))
		}
	}
	row("username", a.Username)
	row("name", a.Name())
	if a.LegalNameWithheld {
		row("legal name", "withheld (keystage account legal-name "+a.Username+" --show)")
	} else if a.LegalName() != a.Name() {
		row("legal name", a.LegalName())
	}
	if cfg, err := e.config(); err == nil && len(cfg.Schools) > 0 {
		row("school", schoolLine(cfg, a.School))
		for _, id := range a.AlsoSchools {
			row("also at", schoolLine(cfg, id)+" (dual registration)")
		}
	}
	row("role", string(a.Role))
	row("source", string(a.Source))
	row("MIS id", a.MISID)
	row("email", a.Email)
	row("year group", a.YearGroup)
	row("reg group", a.RegGroup)
	row("start date", directory.FormatDate(a.StartDate))
	row("leave date", directory.FormatDate(a.LeaveDate))
	row("status", string(a.Status))
	if !a.DisabledAt.IsZero() {
		row("disabled", a.DisabledAt.Format("2006-01-02 15:04")+" "+a.DisableReason)
	}
	row("uidNumber", fmt.Sprint(a.UIDNumber))
	row("gidNumber", fmt.Sprint(a.GIDNumber))
	row("home", a.HomeDirectory)
	row("entryUUID", a.UUID)
	gs, err := s.GroupsOf(ctx, a.ID)
	if err != nil {
		return err
	}
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.Name
	}
	row("groups", strings.Join(names, ", "))
	for _, kind := range []directory.CredentialKind{directory.CredPassword, directory.CredWiFi, directory.CredPasskey} {
		cs, err := s.Credentials(ctx, a.ID, kind)
		if err != nil {
			return err
		}
		live := 0
		for _, c := range cs {
			if c.RevokedAt.IsZero() {
				live++
			}
		}
		if len(cs) > 0 {
			row(string(kind), fmt.Sprintf("%d in force, %d revoked", live, len(cs)-live))
		}
	}
	pw, err := passwordState(ctx, s, a)
	if err != nil {
		return err
	}
	row("login password", pw)
	sus, err := s.Suspensions(ctx, a.ID)
	if err != nil {
		return err
	}
	// Why (the reason, the incident, the conversation at the lift) is for
	// safeguarding roles; others see what is taken away and until when.
	roles, err := e.actorRoles(ctx, s)
	if err != nil {
		return err
	}
	seeWhy := slices.Contains(roles, directory.StaffRoleSafeguarding)
	for _, x := range sus {
		row("suspension", suspensionLine(x, seeWhy))
	}
	if len(sus) > 0 && !seeWhy {
		row("", "(reasons are shown to the safeguarding role only)")
	}
	// Legal holds are shown to the roles that set them.
	if seeWhy || slices.Contains(roles, directory.StaffRoleDataProtection) {
		holds, err := s.LegalHolds(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, h := range holds {
			if h.Open() {
				row("legal hold", fmt.Sprintf("%s since %s by %s: %s %s", h.Kind, h.SetAt.Format("2006-01-02"), h.SetBy, h.Reason, h.Reference))
			}
		}
	}
	return w.Flush()
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func accountAdd(e *env, args []string) error {
	fs := e.newFlags("account add", "--username NAME --role ROLE [--given G --family F] [--group G]…")
	var a directory.Account
	var groups stringList
	role := fs.String("role", "", "staff, pupil, guest or service")
	fs.StringVar(&a.Username, "username", "", "the username (lower-case letters, digits, . - _)")
	fs.StringVar(&a.GivenName, "given", "", "given name")
	fs.StringVar(&a.FamilyName, "family", "", "family name")
	fs.StringVar(&a.Email, "email", "", "email address")
	fs.StringVar(&a.YearGroup, "year", "", "year group (pupils)")
	fs.StringVar(&a.RegGroup, "reg", "", "registration group (pupils)")
	fs.StringVar(&a.School, "school", "", "the trust's school it belongs to (its id); empty: the trust's own, or the one school")
	start := fs.String("start", "", "first day of access, YYYY-MM-DD")
	leave := fs.String("leave", "", "last day of access, YYYY-MM-DD")
	fs.Var(&groups, "group", "add to this existing group (repeatable)")
	withPassword := fs.Bool("password-stdin", false, "set the login password, read from standard input (checked against the role's policy)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if a.Username == "" || *role == "" {
		return usagef("--username and --role are needed")
	}
	r, err := directory.ParseRole(*role)
	if err != nil {
		return usagef("%v", err)
	}
	a.Role, a.Source, a.Status = r, directory.SourceManual, directory.StatusActive
	if a.StartDate, err = directory.ParseDate(*start); err != nil {
		return usagef("--start: %v", err)
	}
	if a.LeaveDate, err = directory.ParseDate(*leave); err != nil {
		return usagef("--leave: %v", err)
	}
	if err := a.Validate(); err != nil {
		return usagef("%v", err)
	}
	var password string
	if *withPassword {
		if password, err = readSecret(e, "Password: "); err != nil {
			return err
		}
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	if scope, err := e.actingScope(s); err == nil && a.School == "" {
		a.School = scope.School // a school's technician adds to their school
	}
	d := e.directory(s)
	if password != "" {
		// Checked before anything is stored, so a refused password leaves no
		// half-made account behind.
		if vs, err := d.CheckPassword(e.ctx, a, password); err != nil {
			return err
		} else if len(vs) > 0 {
			for _, v := range vs {
				fmt.Fprintf(e.stderr, "  - %s [%s]\n", v.Message, v.Code)
			}
			return fmt.Errorf("password refused: %d rule(s) broken; nothing was created", len(vs))
		}
	}
	err = d.CreateAccount(e.ctx, e.actor(), &a, groups)
	if errors.Is(err, directory.ErrConflict) {
		return fmt.Errorf("account %s already exists", a.Username)
	}
	if err != nil {
		return err
	}
	if password != "" {
		if err := d.SetPassword(e.ctx, e.actor(), a, password); err != nil {
			return fmt.Errorf("account %s created, but setting its password failed: %w", a.Username, err)
		}
	}
	fmt.Fprintf(e.stdout, "created %s (%s), uidNumber %d\n", a.Username, a.Role, a.UIDNumber)
	return nil
}
