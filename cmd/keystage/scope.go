package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// actingAs is the person a command acts as (--as NAME, KEYSTAGE_AS), and
// the accounts refused to them, recorded in the trail when the command
// ends. Without --as a command runs as the server's operator, trust-wide.
type actingAs struct {
	once    sync.Once
	scope   directory.SchoolScope
	roles   []string // technician, safeguarding, auditor
	err     error
	mu      sync.Mutex
	refused []directory.Account
}

// actingScope is the school the command may act on: the --as person's
// school, or the whole trust (their school is empty, or there is no --as).
// The --as person must be active staff holding a role of the portal's
// (technician, safeguarding, auditor, data-protection), whose groups give
// powers there too (directory.StaffRolesOf, as the portal reads them).
func (e *env) actingScope(s directory.Reader) (directory.SchoolScope, error) {
	if e.as == "" {
		return directory.SchoolScope{}, nil
	}
	e.acting.once.Do(func() {
		e.acting.scope, e.acting.roles, e.acting.err = e.resolveActing(s)
		if e.acting.err != nil {
			e.acting.scope = directory.SchoolScope{School: "-"} // no one, should a caller not stop
		}
	})
	return e.acting.scope, e.acting.err
}

func (e *env) resolveActing(s directory.Reader) (directory.SchoolScope, []string, error) {
	cfg, err := e.config()
	if err != nil {
		return directory.SchoolScope{}, nil, err
	}
	a, err := s.AccountByUsername(e.ctx, e.as)
	if errors.Is(err, directory.ErrNotFound) {
		return directory.SchoolScope{}, nil, fmt.Errorf("--as %s: no such account: %w", e.as, directory.ErrOutOfScope)
	}
	if err != nil {
		return directory.SchoolScope{}, nil, err
	}
	if a.Role != directory.RoleStaff || a.Status != directory.StatusActive {
		return directory.SchoolScope{}, nil, fmt.Errorf("--as %s: not an active member of staff: %w", e.as, directory.ErrOutOfScope)
	}
	roles, err := directory.StaffRolesOf(e.ctx, s, a, cfg.Portal.roleGroups())
	if err != nil {
		return directory.SchoolScope{}, nil, err
	}
	if len(roles) > 0 {
		return directory.SchoolScope{School: a.School}, roles, nil
	}
	return directory.SchoolScope{}, nil, fmt.Errorf("--as %s: holds no staff role (a technician, safeguarding, auditor or data-protection group): %w", e.as, directory.ErrOutOfScope)
}

// trustCommands run for the whole trust and never as a school's staff:
// the server, the store's care, the keys, the NAS clients (the trust's)
// the audit trail (which holds every school), Active Directory (one domain
// for the trust: a plan from one school's people would end the others')
// the retention schedule (the trail's prune) and the server's certificates.
var trustCommands = map[string]bool{"serve": true, "demo": true, "init": true, "migrate": true, "keys": true, "cert": true,
	"backup": true, "restore": true, "nas": true, "webfilter": true, "audit": true, "ad": true, "retention": true}

// checkActing resolves --as before a command runs, so that a name that
// is no staff member's stops it with the reason rather than half-way. A
// command of the whole trust refuses --as; version and config ignore it.
func (e *env) checkActing(command string, args []string) error {
	if e.as == "" || command == "version" || command == "config" {
		return nil
	}
	if trustCommands[command] {
		return usagef("--as %s: keystage %s runs for the whole trust, not as a school's staff: run it without --as (and without KEYSTAGE_AS)", e.as, command)
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := e.actingScope(s); err != nil {
		return err
	}
	need := rolesFor(command, args)
	for _, r := range e.acting.roles {
		if slices.Contains(need, r) {
			return nil
		}
	}
	return fmt.Errorf("--as %s: keystage %s is for a %s, and %s is %s: %w", e.as, command, strings.Join(need, " or "),
		e.as, strings.Join(e.acting.roles, " and "), directory.ErrOutOfScope)
}

// rolesFor are the staff roles that may run a command as a school's
// staff, as the portal gives its pages: suspensions are the safeguarding
// leads', legal holds theirs and the data-protection officer's, the
// register the auditors' (and what is held about one person the DPO's too), finding people the technicians' and
// safeguarding leads', the review the technicians' and auditors', the
// rest the technicians'.
func rolesFor(command string, args []string) []string {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch {
	case command == "suspend" || command == "unsuspend":
		return []string{"safeguarding"}
	case command == "hold":
		return []string{directory.StaffRoleSafeguarding, directory.StaffRoleDataProtection}
	case command == "register" && sub == "person":
		return []string{"auditor", directory.StaffRoleDataProtection}
	case command == "register":
		return []string{"auditor"}
	case command == "review":
		return []string{"auditor", "technician"}
	case command == "account" && (sub == "list" || sub == "show"):
		return []string{"safeguarding", "technician"}
	case command == "aup" && sub == "status":
		return []string{"safeguarding", "technician"}
	}
	return []string{"technician"}
}

// scoped is s as the acting person may see it (directory.Scoped): a
// school's staff read and change their school's people only.
func (e *env) scoped(s directory.Store) (directory.Store, error) {
	scope, err := e.actingScope(s)
	if err != nil {
		return nil, err
	}
	return directory.Scoped(s, scope, e.noteRefused), nil
}

// scopeQuery narrows q to the acting person's school.
func (e *env) scopeQuery(q directory.AccountQuery, s directory.Reader) (directory.AccountQuery, error) {
	scope, err := e.actingScope(s)
	if err != nil {
		return q, err
	}
	if !scope.Trust() && q.School != "" && q.School != scope.School {
		return q, fmt.Errorf("--school %s: you act for school %s: %w", q.School, scope.School, directory.ErrOutOfScope)
	}
	return scope.Query(q), nil
}

func (e *env) noteRefused(a directory.Account) {
	e.acting.mu.Lock()
	defer e.acting.mu.Unlock()
	e.acting.refused = append(e.acting.refused, a)
}

// recordRefusals writes the refusals of the command that ran into the
// trail, one event each, after its own transaction rolled back.
func (e *env) recordRefusals() {
	e.acting.mu.Lock()
	refused := slices.Clone(e.acting.refused)
	e.acting.refused = nil
	e.acting.mu.Unlock()
	if len(refused) == 0 {
		return
	}
	s, err := e.openStore(false)
	if err != nil {
		e.logger().Error("recording a refusal", "err", err)
		return
	}
	defer s.Close()
	d := directory.New(s, directory.Config{Log: e.logger()})
	for _, a := range refused {
		if err := d.RecordEvent(context.WithoutCancel(e.ctx), e.actor(), audit.ActionScopeRefused, audit.AccountTarget(a.Username), nil,
			map[string]any{"acting_as": e.as, "acting_school": e.acting.scope.School, "school": a.School, "also_schools": a.AlsoSchools}); err != nil {
			e.logger().Error("recording a refusal", "err", err)
		}
	}
}

// checkSchool accepts a configured school's id, or "" (and, with trust,
// directory.TrustScope).
func (c *Config) checkSchool(id string, trust bool) error {
	if id == "" || (trust && id == directory.TrustScope) {
		return nil
	}
	for _, s := range c.Schools {
		if s.ID == id {
			return nil
		}
	}
	if len(c.Schools) == 0 {
		return fmt.Errorf("school %q: no [[schools]] are configured (a single school has none)", id)
	}
	ids := make([]string, len(c.Schools))
	for i, s := range c.Schools {
		ids[i] = s.ID
	}
	return fmt.Errorf("school %q: not one of the trust's (%v)", id, ids)
}

// schoolColumn is an account's school in a list: its id, "trust" for the
// trust's own, and "+" for each other school it is also registered at.
func schoolColumn(a directory.Account) string {
	id := a.School
	if id == "" {
		id = directory.TrustScope
	}
	for _, o := range a.AlsoSchools {
		id += "+" + o
	}
	return id
}

// schoolLine is a school's id and name as account show gives it.
func schoolLine(c *Config, id string) string {
	if id == "" {
		return "the trust (" + c.School + ")"
	}
	return id + " (" + c.schoolName(id) + ")"
}

// findAccount finds the person a command names, refusing (and noting for
// the trail) one outside the acting person's school.
func (e *env) findAccount(s directory.Reader, name string) (directory.Account, error) {
	a, err := findAccount(e.ctx, s, name)
	if err != nil {
		return a, err
	}
	scope, err := e.actingScope(s)
	if err != nil {
		return directory.Account{}, err
	}
	if err := scope.Check(a); err != nil {
		e.noteRefused(a)
		return directory.Account{}, err
	}
	return a, nil
}

func schoolOrTrustName(id string) string {
	if id == "" {
		return "the whole trust"
	}
	return "school " + id
}

// reportSchool is the school a register or review covers: --school, or
// the acting person's own (a school's staff see theirs only); "" for the
// whole trust.
func (e *env) reportSchool(s directory.Reader, cfg *Config, school string) (string, error) {
	if err := cfg.checkSchool(school, true); err != nil {
		return "", usagef("--school: %v", err)
	}
	scope, err := e.actingScope(s)
	if err != nil {
		return "", err
	}
	switch {
	case scope.Trust():
		return school, nil
	case school != "" && school != scope.School:
		return "", fmt.Errorf("school %s: you act for school %s: %w", school, scope.School, directory.ErrOutOfScope)
	}
	return scope.School, nil
}

// oneSchool is the school of every person given a first password, when
// they share one.
func oneSchool(issued []directory.FirstPassword) (string, bool) {
	if len(issued) == 0 {
		return "", false
	}
	school := issued[0].Account.School
	for _, fp := range issued[1:] {
		if fp.Account.School != school {
			return "", false
		}
	}
	return school, true
}
