package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// cmdInit is the first step on a new installation, and safe to run again:
// it makes the data directory and the schema, the key file and the audit
// signing key (only while the database holds nothing sealed or signed under
// others), the portal's role groups and the approvers' groups that the
// configuration names, and
// appoints the first technician.
func cmdInit(e *env, args []string) error {
	flags := e.newFlags("init", "[--technician USERNAME --given NAME --family NAME [--email ADDR]]  (the technician's password from the terminal or standard input)")
	tech := flags.String("technician", "", "appoint this staff account as the first portal technician, creating it when it does not exist")
	given := flags.String("given", "", "the technician's given name (a new account)")
	family := flags.String("family", "", "the technician's family name (a new account)")
	email := flags.String("email", "", "the technician's email address (a new account)")
	if _, err := parse(flags, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if sqlstore.DialectOf(cfg.DatabaseURL()) == sqlstore.SQLite && cfg.Database.URL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
		}
	}
	s, err := e.openStore(false) // opening migrates
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(e.stdout, "database %s: schema up to date\n", redactURL(cfg.DatabaseURL()))

	_, statErr := os.Stat(cfg.KeyFile())
	ring, err := e.keyring(s, true)
	if err != nil {
		return err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		fmt.Fprintf(e.stdout, "key file %s: created (key %s). Copy it to every node and back it up apart from the database.\n", cfg.KeyFile(), ring.CurrentID())
	} else {
		fmt.Fprintf(e.stdout, "key file %s: opens the database's secrets (keys %s)\n", cfg.KeyFile(), strings.Join(ring.IDs(), ", "))
	}
	_, statErr = os.Stat(cfg.SigningKeyFile())
	signer, err := e.signer(s, true)
	if err != nil {
		return err
	}
	id := audit.KeyID(signer.Public())
	if errors.Is(statErr, fs.ErrNotExist) {
		fmt.Fprintf(e.stdout, "audit signing key %s: created (key %s). Copy it to every node, back it up, and keep its public key (keystage audit key) away from the database.\n", cfg.SigningKeyFile(), id)
	} else {
		fmt.Fprintf(e.stdout, "audit signing key %s: in place (key %s)\n", cfg.SigningKeyFile(), id)
	}

	d := e.directory(s)
	roles := cfg.roleGroupNames()
	made, err := d.EnsureGroups(e.ctx, e.actor(), roles, "Portal role (keystage init)")
	if err != nil {
		return err
	}
	// Signed at once, so that from now on a node given another signing key
	// (or none) is refused rather than making its own.
	if _, _, err := directory.Checkpoint(e.ctx, s, signer, time.Now()); err != nil {
		return fmt.Errorf("signing the first audit checkpoint: %w", err)
	}
	if len(made) > 0 {
		fmt.Fprintf(e.stdout, "role groups created: %s\n", strings.Join(made, ", "))
	}
	if kept := slices.DeleteFunc(slices.Clone(roles), func(n string) bool { return slices.Contains(made, n) }); len(kept) > 0 {
		fmt.Fprintf(e.stdout, "role groups already there: %s\n", strings.Join(kept, ", "))
	}

	if *tech != "" {
		if len(cfg.Portal.TechnicianGroups) == 0 {
			return fmt.Errorf("portal.technician_groups is empty: name the group whose members are technicians, then run keystage init again")
		}
		group := cfg.Portal.TechnicianGroups[0]
		a, err := s.AccountByUsername(e.ctx, *tech)
		switch {
		case errors.Is(err, directory.ErrNotFound):
			add := []string{"--username", *tech, "--role", "staff", "--group", group, "--password-stdin"}
			for flag, v := range map[string]string{"--given": *given, "--family": *family, "--email": *email} {
				if v != "" {
					add = append(add, flag, v)
				}
			}
			s.Close() // account add opens the store itself
			if err := accountAdd(e, add); err != nil {
				return fmt.Errorf("the first technician: %w", err)
			}
			fmt.Fprintf(e.stdout, "technician %s: created and appointed (member of %s)\n", *tech, group)
		case err != nil:
			return err
		case a.Role != directory.RoleStaff:
			return fmt.Errorf("account %s is a %s account: a technician is a member of staff; name a staff account", a.Username, a.Role)
		default:
			if _, err := d.AddMembers(e.ctx, e.actor(), group, []string{a.Username}); err != nil {
				return groupError(group, err)
			}
			fmt.Fprintf(e.stdout, "technician %s: appointed (member of %s)\n", a.Username, group)
		}
	}
	fmt.Fprintln(e.stdout, "next: appoint the other roles with keystage group members add GROUP USER…, add each access point with keystage nas add, then run keystage serve")
	return nil
}

// roleGroupNames are the groups the portal's roles and the approvers are
// given by, each once.
func (c *Config) roleGroupNames() []string {
	var out []string
	p, a := c.Portal, c.Approvals
	for _, list := range [][]string{p.TechnicianGroups, p.SafeguardingGroups, p.AuditorGroups, p.DataProtectionGroups,
		a.FilteringGroups, a.DeviceGroups, a.ExceptionGroups} {
		for _, g := range list {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}
