package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/passwords"
)

// What every server is given, the same for all three.
const (
	// radiusSecret is the shared secret of the one NAS, 127.0.0.1.
	radiusSecret = "bench-compare-radius-secret"
	// loginPassword is every person's login password (LDAP bind). It is
	// hashed once per cost rather than once per person: 200,000 argon2id
	// hashes at the default cost would take over an hour and a half of CPU.
	loginPassword = "Bench-Otter-Lamp-62"
	// reader is the service account that searches (what nslcd binds as).
	reader   = "bench-reader"
	baseDN   = "dc=school,dc=example"
	readerDN = "uid=" + reader + ",ou=services," + baseDN
)

// wifiCredential is a person's own Wi-Fi credential, from their MIS id:
// different for everyone, so that no server can answer from one cached
// secret.
func wifiCredential(misID string) string { return "bench-" + misID + "-wifi" }

// person is one generated person as every server is given them.
type person struct {
	Username   string
	Staff      bool
	GivenName  string
	FamilyName string
	Name       string
	Email      string
	UIDNumber  int64
	GIDNumber  int64
	Home       string
	Shell      string
	WiFi       string
	Groups     []groupRef // the groups Keystage holds them in, by name
}

// groupRef is a group as slapd is given it.
type groupRef struct {
	Name string
	GID  int64
}

// keystageStore is the SQLite store that keystage serve opens, and its key
// file.
func keystageStore(dir string) (db, keys string) {
	return filepath.Join(dir, "keystage.db"), filepath.Join(dir, "keystage.keys")
}

// seedKeystage stores schoolgen.Large(n) through Keystage's own Store
// (each change with its audit event), with loginHash as every person's
// password, their sealed Wi-Fi credential, the bench NAS and the reader
// service account; it then reads the people back, so that the other
// servers get exactly what Keystage holds (usernames after clash
// resolution, allocated uid and gid numbers).
func seedKeystage(ctx context.Context, dir string, n int, loginHash string, progress func(done, total int)) ([]person, error) {
	db, keyPath := keystageStore(dir)
	keyFile, err := passwords.GenerateKeyFile()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyPath, keyFile, 0o600); err != nil {
		return nil, err
	}
	ring, err := passwords.ParseKeyFile(keyFile)
	if err != nil {
		return nil, err
	}
	os.Remove(db)
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + db})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	_, err = schoolgen.Seed(ctx, st, schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{
		Actor:        "bench-compare",
		PasswordHash: func(schoolgen.Person) string { return loginHash },
		WiFi: func(p schoolgen.Person) (string, string, error) {
			s, err := ring.Seal([]byte(wifiCredential(p.MISID)), []byte(directory.SealWiFi))
			return s, ring.CurrentID(), err
		},
		Progress: progress,
	})
	if err != nil {
		return nil, err
	}
	sealed, err := ring.Seal([]byte(radiusSecret), []byte(directory.SealNAS))
	if err != nil {
		return nil, err
	}
	err = st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		nas := directory.NASClient{Name: "bench", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Secret: sealed, KeyID: ring.CurrentID()}
		if err := tx.PutNASClient(ctx, &nas); err != nil {
			return err
		}
		if err := tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "bench-compare", Action: audit.ActionNASAdd, Target: "nas:bench"}); err != nil {
			return err
		}
		a := directory.Account{Username: reader, Role: directory.RoleService, Source: directory.SourceManual, Status: directory.StatusActive}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: loginHash, CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "bench-compare", Action: audit.ActionAccountCreate, Target: audit.AccountTarget(a.Username)})
	})
	if err != nil {
		return nil, err
	}
	return readPeople(ctx, st)
}

// readPeople lists the seeded people (not the service account) with
// their Wi-Fi credentials.
func readPeople(ctx context.Context, st directory.Store) ([]person, error) {
	var out []person
	q := directory.AccountQuery{Limit: 5000}
	for {
		page, err := st.ListAccounts(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			if a.Role == directory.RoleService {
				continue
			}
			home, shell := a.HomeDirectory, a.LoginShell
			if home == "" {
				home = "/home/" + a.Username
			}
			if shell == "" {
				shell = "/bin/bash"
			}
			out = append(out, person{Username: a.Username, Staff: a.Role == directory.RoleStaff, GivenName: a.GivenName,
				FamilyName: a.FamilyName, Name: a.Name(), Email: a.Email, UIDNumber: a.UIDNumber, GIDNumber: a.GIDNumber,
				Home: home, Shell: shell, WiFi: wifiCredential(a.MISID)})
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the Keystage store holds no people")
	}
	return out, addGroups(ctx, st, out)
}

// addGroups fills in each person's groups from Keystage's memberships.
func addGroups(ctx context.Context, st directory.Store, people []person) error {
	fr, ok := st.(directory.FactsReader)
	if !ok {
		return fmt.Errorf("the Keystage store cannot list memberships")
	}
	groups := map[int64]groupRef{}
	q := directory.GroupQuery{Limit: 5000}
	for {
		page, err := st.ListGroups(ctx, q)
		if err != nil {
			return err
		}
		for _, g := range page {
			groups[g.ID] = groupRef{Name: g.Name, GID: g.GIDNumber}
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	byName := make(map[string]*person, len(people))
	for i := range people {
		byName[people[i].Username] = &people[i]
	}
	var after int64
	for {
		as, err := st.ListAccounts(ctx, directory.AccountQuery{AfterID: after, Limit: 5000})
		if err != nil || len(as) == 0 {
			return err
		}
		last := as[len(as)-1].ID
		ms, err := fr.MembershipsBetween(ctx, after, last)
		if err != nil {
			return err
		}
		names := make(map[int64]string, len(as))
		for _, a := range as {
			names[a.ID] = a.Username
		}
		for _, m := range ms {
			if p := byName[names[m.AccountID]]; p != nil {
				p.Groups = append(p.Groups, groups[m.GroupID])
			}
		}
		after = last
	}
}
