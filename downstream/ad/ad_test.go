package ad_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/downstream"
	"keystage.dev/keystage/downstream/ad"
	"keystage.dev/keystage/downstream/ad/sambatest"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/portal/portaltest"
)

// school is a Keystage directory on a fresh SQLite store, with a clock
// the test moves, that queues every password for Active Directory.
type school struct {
	d  *directory.Directory
	s  directory.Store
	mu sync.Mutex
	at time.Time
}

func (sc *school) now() time.Time {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.at
}

func (sc *school) advance(d time.Duration) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.at = sc.at.Add(d)
}

func newSchool(t *testing.T) *school {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	keys, err := passwords.GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := passwords.ParseKeyFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	sc := &school{s: s, at: time.Now().UTC().Truncate(time.Second)}
	h := &passwords.Hasher{Params: passwords.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	sc.d = directory.New(s, directory.Config{Hasher: h, Sealer: ring, Now: sc.now, PasswordDownstreams: []string{"ad"}})
	return sc
}

func (sc *school) person(t *testing.T, a directory.Account) directory.Account {
	t.Helper()
	if a.Source == "" {
		a.Source = directory.SourceMIS
	}
	if err := sc.d.CreateAccount(context.Background(), "test", &a, nil); err != nil {
		t.Fatal(err)
	}
	return a
}

func (sc *school) account(t *testing.T, username string) directory.Account {
	t.Helper()
	a, err := sc.s.AccountByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sync plans and applies as the scheduled job does, and pushes the
// passwords waiting; it returns the plan.
func sync1(t *testing.T, s *downstream.Sync, adopt bool) *downstream.Plan {
	t.Helper()
	ctx := context.Background()
	p, tg, err := s.Plan(ctx, adopt)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if _, err := s.Apply(ctx, tg, p, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PushPasswords(ctx, tg, "test"); err != nil {
		t.Fatal(err)
	}
	return p
}

func changesOf(p *downstream.Plan, kind downstream.Kind) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Kind == kind {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out
}

func whyLeft(p *downstream.Plan, name string) string {
	for _, c := range p.Changes {
		if c.Kind == downstream.KindLeft && strings.EqualFold(c.Name, name) {
			return c.Why
		}
	}
	return ""
}

// handMade are objects made in the domain by hand, with what they looked
// like: none of them may change.
func usnOf(t *testing.T, c *ldap.Conn, dn string) string {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"uSNChanged"}, nil))
	if err != nil {
		t.Fatalf("%s: %v", dn, err)
	}
	return res.Entries[0].GetAttributeValue("uSNChanged")
}

// TestSambaDomainFollowsKeystage drives a real Samba AD DC from Keystage:
// one domain, provisioned afresh and served by samba on a loopback address
// of the test's own, shared by the subtests in order.
func TestSambaDomainFollowsKeystage(t *testing.T) {
	dc := sambatest.Start(t)
	ctx := context.Background()
	admin := dc.Admin(t)
	add := func(dn string, attrs map[string][]string) {
		t.Helper()
		r := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			r.Attribute(k, v)
		}
		if err := admin.Add(r); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	// The school's domain before Keystage: its OU, a person made by hand
	// inside it, one in CN=Users, a hand-made group, a service account
	// that is protected by name, a member of staff whose employeeID is
	// the MIS id (to adopt) and an account holding a name Keystage wants.
	add("OU=Keystage,"+dc.Base, map[string][]string{"objectClass": {"top", "organizationalUnit"}})
	sambatest.Run(t, "samba-tool", "user", "create", "byhand", "By-Hand-Pass-77", "-s", dc.Conf, "--userou=OU=Keystage", "--given-name=By", "--surname=Hand")
	sambatest.Run(t, "samba-tool", "user", "create", "headteacher", "Head-Pass-9911", "-s", dc.Conf, "--given-name=Head", "--surname=Teacher")
	sambatest.Run(t, "samba-tool", "user", "create", "svc-backup", "Backup-Pass-9911", "-s", dc.Conf)
	sambatest.Run(t, "samba-tool", "user", "create", "oldmjones", "Old-Staff-Pass-12", "-s", dc.Conf, "--given-name=Mary", "--surname=Jones")
	sambatest.Run(t, "samba-tool", "user", "create", "25cclash", "Clash-Pass-1234", "-s", dc.Conf)
	sambatest.Run(t, "samba-tool", "group", "add", "handgroup", "-s", dc.Conf)
	sambatest.Run(t, "samba-tool", "group", "addmembers", "handgroup", "byhand,headteacher", "-s", dc.Conf)
	dnOf := func(sam string) string {
		t.Helper()
		res, err := admin.Search(ldap.NewSearchRequest(dc.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(sAMAccountName="+ldap.EscapeFilter(sam)+")", []string{"dn"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v", sam, err)
		}
		return res.Entries[0].DN
	}
	mod := ldap.NewModifyRequest(dnOf("oldmjones"), nil)
	mod.Replace("employeeID", []string{"MIS-ST2"})
	if err := admin.Modify(mod); err != nil {
		t.Fatal(err)
	}
	handMade := map[string]string{}
	for _, sam := range []string{"byhand", "headteacher", "svc-backup", "25cclash", "handgroup", "Administrator"} {
		dn := dnOf(sam)
		handMade[dn] = usnOf(t, admin, dn)
	}

	sc := newSchool(t)
	start := sc.now().AddDate(-1, 0, 0)
	sc.person(t, directory.Account{Username: "jteacher", Role: directory.RoleStaff, MISID: "MIS-ST1", GivenName: "Jo", FamilyName: "Teacher", Email: "jteacher@keystage.test", StartDate: start})
	sc.person(t, directory.Account{Username: "25asmith", Role: directory.RolePupil, MISID: "MIS-P1", GivenName: "Amy", FamilyName: "Smith", YearGroup: "7", RegGroup: "7A", StartDate: start})
	sc.person(t, directory.Account{Username: "25bjones", Role: directory.RolePupil, MISID: "MIS-P2", GivenName: "Ben", FamilyName: "Jones", YearGroup: "8", RegGroup: "8B", StartDate: start})
	sc.person(t, directory.Account{Username: "25cclash", Role: directory.RolePupil, MISID: "MIS-P3", GivenName: "Cal", FamilyName: "Clash", YearGroup: "7", StartDate: start})
	sc.person(t, directory.Account{Username: "mjones", Role: directory.RoleStaff, MISID: "MIS-ST2", GivenName: "Mary", FamilyName: "Jones", StartDate: start})
	sc.person(t, directory.Account{Username: "svc-backup", Role: directory.RoleStaff, MISID: "MIS-ST3", GivenName: "Not", FamilyName: "Ours", StartDate: start})
	// The MIS sync's year group.
	if err := sc.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		g := directory.Group{Name: "year-7", Kind: directory.GroupYear, Source: directory.SourceMIS, Description: "Year 7"}
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		for _, u := range []string{"25asmith", "25cclash"} {
			a, err := tx.AccountByUsername(ctx, u)
			if err != nil {
				return err
			}
			if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionGroupCreate, Target: audit.Target(audit.KindGroup, g.Name)})
	}); err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context) (downstream.Target, error) { return ad.Open(ctx, dc.Config()) }
	sy := downstream.NewSync(sc.d, downstream.Config{Name: "ad", Open: open, MassChange: 0.5}, nil)

	t.Run("SyncMakesPeopleInTheirOUsAndGroups", func(t *testing.T) {
		p := sync1(t, sy, false)
		if got := changesOf(p, downstream.KindCreate); !slices.Equal(got, []string{"25asmith", "25bjones", "jteacher"}) {
			t.Errorf("created %v", got)
		}
		if why := whyLeft(p, "25cclash"); !strings.Contains(why, "held by an account Keystage does not own") {
			t.Errorf("25cclash: %q", why)
		}
		if why := whyLeft(p, "svc-backup"); why == "" {
			t.Errorf("svc-backup was not left: %+v", p.Changes)
		}
		if why := whyLeft(p, "mjones"); !strings.Contains(why, "keystage ad adopt") {
			t.Errorf("mjones: %q", why)
		}
		u := dc.UserShow(t, "25asmith")
		if dn := u["dn"]; len(dn) != 1 || dn[0] != "CN=25asmith,OU=Year 7,OU=Pupils,OU=Keystage,"+dc.Base {
			t.Errorf("25asmith's dn = %v", dn)
		}
		for k, v := range map[string]string{"employeeID": "MIS-P1", "givenName": "Amy", "sn": "Smith", "userPrincipalName": "25asmith@keystage.test",
			"memberOf": "CN=year-7,OU=Groups,OU=Keystage," + dc.Base, "userAccountControl": "512"} {
			if !slices.Contains(u[k], v) {
				t.Errorf("25asmith's %s = %v, want %s", k, u[k], v)
			}
		}
		if dn := dc.UserShow(t, "jteacher")["dn"]; len(dn) != 1 || dn[0] != "CN=jteacher,OU=Staff,OU=Keystage,"+dc.Base {
			t.Errorf("jteacher's dn = %v", dn)
		}
		members := sambatest.Run(t, "samba-tool", "group", "listmembers", "year-7", "-s", dc.Conf)
		if strings.Fields(members)[0] != "25asmith" || len(strings.Fields(members)) != 1 {
			t.Errorf("year-7 members = %q", members)
		}
		// A second plan has nothing left to do but what it must leave.
		again, tg, err := sy.Plan(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		tg.Close()
		for _, c := range again.Changes {
			if c.Kind != downstream.KindLeft {
				t.Errorf("second plan: %s %s %v", c.Kind, c.Name, c.Fields)
			}
		}
	})

	t.Run("PasswordsSetInKeystageWorkWithKerberos", func(t *testing.T) {
		jt := sc.account(t, "jteacher")
		fp, err := sc.d.IssueFirstPassword(ctx, "test", jt, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		sync1(t, sy, false)
		// A first password must be changed at next logon: the KDC says so.
		if ok, out := dc.Kinit(t, "jteacher", fp.Password); ok || !strings.Contains(strings.ToLower(out), "expired") {
			t.Errorf("kinit with a first password: ok=%v %s", ok, out)
		}
		// The portal's change (the directory method it calls).
		const first, second = "Blue-Kiwi-Orbit-42", "Brown-Lamp-Mosaic-71"
		if vs, err := sc.d.ChangePassword(ctx, audit.UserActor("jteacher"), sc.account(t, "jteacher"), first); err != nil || len(vs) > 0 {
			t.Fatal(err, vs)
		}
		if res, err := pushNow(t, sy); err != nil || res.Pushed != 1 {
			t.Fatalf("push: %+v %v", res, err)
		}
		if ok, out := dc.Kinit(t, "jteacher", first); !ok {
			t.Fatalf("kinit with the password set in Keystage: %s", out)
		}
		if vs, err := sc.d.ChangePassword(ctx, audit.UserActor("jteacher"), sc.account(t, "jteacher"), second); err != nil || len(vs) > 0 {
			t.Fatal(err, vs)
		}
		if _, err := pushNow(t, sy); err != nil {
			t.Fatal(err)
		}
		if ok, out := dc.Kinit(t, "jteacher", first); ok || !strings.Contains(out, "Password incorrect") {
			t.Errorf("kinit with the old password: %v %s", ok, out)
		}
		if ok, out := dc.Kinit(t, "jteacher", second); !ok {
			t.Errorf("kinit with the new password: %s", out)
		}
		if left, err := sc.s.PendingPasswords(ctx, "ad", 0); err != nil || len(left) != 0 {
			t.Errorf("passwords still waiting after the push: %v %v", left, err)
		}
		evs, err := sc.s.AuditEventsByAction(ctx, "ad.password", time.Time{}, 10)
		if err != nil || len(evs) != 3 {
			t.Errorf("ad.password events: %d %v", len(evs), err)
		}
		for _, e := range evs {
			if strings.Contains(string(e.After), first) || strings.Contains(string(e.After), second) {
				t.Errorf("an audit event holds the password: %s", e.After)
			}
		}
		// A pupil's password, for the gate below.
		if vs, err := sc.d.ChangePassword(ctx, "test", sc.account(t, "25asmith"), "Purple-Rocket-Hedge-31"); err != nil || len(vs) > 0 {
			t.Fatal(err, vs)
		}
		if _, err := pushNow(t, sy); err != nil {
			t.Fatal(err)
		}
		if ok, out := dc.Kinit(t, "25asmith", "Purple-Rocket-Hedge-31"); !ok {
			t.Fatalf("kinit 25asmith: %s", out)
		}
	})

	t.Run("PortalPasswordChangeReachesKerberos", func(t *testing.T) {
		// A second school, with the portal in front of it, in an OU of its
		// own: each Keystage works only inside its OU.
		add("OU=Portal School,"+dc.Base, map[string][]string{"objectClass": {"top", "organizationalUnit"}})
		srv := portaltest.Start(t, portaltest.Options{PasswordDownstreams: []string{"ad"}})
		cfg := dc.Config()
		cfg.OU = "OU=Portal School," + dc.Base
		psy := downstream.NewSync(srv.Directory, downstream.Config{Name: "ad", MassChange: 1,
			Open: func(ctx context.Context) (downstream.Target, error) { return ad.Open(ctx, cfg) }}, nil)
		sync1(t, psy, false)
		if dn := dc.UserShow(t, portaltest.Teacher)["dn"]; len(dn) != 1 || dn[0] != "CN="+portaltest.Teacher+",OU=Staff,"+cfg.OU {
			t.Fatalf("%s's dn = %v", portaltest.Teacher, dn)
		}
		c := srv.Client()
		post := func(path string, form url.Values) int {
			t.Helper()
			res, err := c.PostForm(srv.URL+path, form)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if code := post("/signin", url.Values{"username": {portaltest.Teacher}, "password": {portaltest.Password}}); code != http.StatusSeeOther {
			t.Fatalf("sign in: %d", code)
		}
		const first, second = "Velvet-Canyon-Orbit-79", "Amber-Fjord-Pilot-36"
		for _, pw := range []struct{ cur, next string }{{portaltest.Password, first}, {first, second}} {
			if code := post("/password", url.Values{"current": {pw.cur}, "new": {pw.next}, "confirm": {pw.next}}); code != http.StatusSeeOther {
				t.Fatalf("change password in the portal: %d", code)
			}
			if res, err := pushNow(t, psy); err != nil || res.Pushed != 1 {
				t.Fatalf("push: %+v %v", res, err)
			}
			if ok, out := dc.Kinit(t, portaltest.Teacher, pw.next); !ok {
				t.Fatalf("kinit with the password set in the portal: %s", out)
			}
		}
		if ok, out := dc.Kinit(t, portaltest.Teacher, first); ok || !strings.Contains(out, "Password incorrect") {
			t.Errorf("kinit with the password changed in the portal: %v %s", ok, out)
		}
	})

	t.Run("InternetOnlySuspensionLeavesWindowsAlone", func(t *testing.T) {
		a := sc.account(t, "25asmith")
		if _, err := sc.d.Suspend(ctx, "test", a, directory.Suspension{Reason: "misuse of the internet", Scope: directory.SuspendInternet, Until: sc.now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		p := sync1(t, sy, false)
		if got := changesOf(p, downstream.KindDisable); len(got) != 0 {
			t.Errorf("an internet-only suspension disabled %v in the domain", got)
		}
		if ok, out := dc.Kinit(t, "25asmith", "Purple-Rocket-Hedge-31"); !ok {
			t.Errorf("kinit while suspended from the internet only: %s", out)
		}
	})

	t.Run("SuspensionDisablesAndIsRestored", func(t *testing.T) {
		a := sc.account(t, "25asmith")
		if _, err := sc.d.Suspend(ctx, "test", a, directory.Suspension{Reason: "behaviour", Until: sc.now().Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		p := sync1(t, sy, false)
		if got := changesOf(p, downstream.KindDisable); !slices.Equal(got, []string{"25asmith"}) {
			t.Errorf("disabled %v", got)
		}
		if ok, out := dc.Kinit(t, "25asmith", "Purple-Rocket-Hedge-31"); ok || !strings.Contains(out, "revoked") {
			t.Errorf("kinit while suspended: %v %s", ok, out)
		}
		sc.advance(3 * time.Hour)
		p = sync1(t, sy, false)
		if got := changesOf(p, downstream.KindEnable); !slices.Equal(got, []string{"25asmith"}) {
			t.Errorf("enabled %v", got)
		}
		if ok, out := dc.Kinit(t, "25asmith", "Purple-Rocket-Hedge-31"); !ok {
			t.Errorf("kinit after the suspension ended: %s", out)
		}
	})

	t.Run("LeaverIsDisabled", func(t *testing.T) {
		a := sc.account(t, "25asmith")
		yesterday := sc.now().AddDate(0, 0, -2)
		if err := sc.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error { x.LeaveDate = yesterday; return nil }); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionAccountUpdate, Target: audit.AccountTarget(a.Username)})
		}); err != nil {
			t.Fatal(err)
		}
		p := sync1(t, sy, false)
		if got := changesOf(p, downstream.KindDisable); !slices.Equal(got, []string{"25asmith"}) {
			t.Errorf("disabled %v", got)
		}
		if ok, out := dc.Kinit(t, "25asmith", "Purple-Rocket-Hedge-31"); ok || !strings.Contains(out, "revoked") {
			t.Errorf("a leaver's kinit: %v %s", ok, out)
		}
		if uac := dc.UserShow(t, "25asmith")["userAccountControl"]; !slices.Contains(uac, "514") {
			t.Errorf("leaver's userAccountControl = %v", uac)
		}
	})

	t.Run("AdoptTakesOverByEmployeeID", func(t *testing.T) {
		p := sync1(t, sy, true)
		if got := changesOf(p, downstream.KindAdopt); !slices.Equal(got, []string{"mjones"}) {
			t.Errorf("adopted %v", got)
		}
		u := dc.UserShow(t, "mjones")
		if dn := u["dn"]; len(dn) != 1 || dn[0] != "CN=mjones,OU=Staff,OU=Keystage,"+dc.Base {
			t.Errorf("mjones's dn = %v (adopted, renamed and moved)", dn)
		}
		if why := whyLeft(p, "svc-backup"); !strings.Contains(why, "protected") {
			t.Errorf("svc-backup: %q", why)
		}
	})

	t.Run("BreakerRefusesMassDisable", func(t *testing.T) {
		strict := downstream.NewSync(sc.d, downstream.Config{Name: "ad", Open: open, MassChange: 0.05}, nil)
		if _, _, err := sc.d.Disable(ctx, "test", "jteacher", "test"); err != nil {
			t.Fatal(err)
		}
		p, tg, err := strict.Plan(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		if p.Blocked == "" {
			t.Fatalf("disabling 1 of %d was not blocked at 5%%", p.Managed)
		}
		if _, err := strict.Apply(ctx, tg, p, "test"); !errors.Is(err, downstream.ErrMassChange) {
			t.Fatalf("apply of a blocked plan: %v", err)
		}
		if ok, out := dc.Kinit(t, "jteacher", "Brown-Lamp-Mosaic-71"); !ok {
			t.Errorf("the refused plan changed the domain: %s", out)
		}
		p.AllowMassChange = true
		if _, err := strict.Apply(ctx, tg, p, "test"); err != nil {
			t.Fatal(err)
		}
		if ok, out := dc.Kinit(t, "jteacher", "Brown-Lamp-Mosaic-71"); ok || !strings.Contains(out, "revoked") {
			t.Errorf("a disabled account's kinit: %v %s", ok, out)
		}
	})

	t.Run("MoverMovesAndNamesFollow", func(t *testing.T) {
		a := sc.account(t, "25bjones")
		if err := sc.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error {
				x.YearGroup, x.FamilyName = "9", "Jones-Ode"
				return nil
			}); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionAccountUpdate, Target: audit.AccountTarget(a.Username)})
		}); err != nil {
			t.Fatal(err)
		}
		p := sync1(t, sy, false)
		if got := changesOf(p, downstream.KindMove); !slices.Equal(got, []string{"25bjones"}) {
			t.Errorf("moved %v", got)
		}
		u := dc.UserShow(t, "25bjones")
		if dn := u["dn"]; len(dn) != 1 || dn[0] != "CN=25bjones,OU=Year 9,OU=Pupils,OU=Keystage,"+dc.Base {
			t.Errorf("25bjones's dn = %v", dn)
		}
		if !slices.Contains(u["sn"], "Jones-Ode") || !slices.Contains(u["displayName"], "Ben Jones-Ode") {
			t.Errorf("25bjones's names = %v %v", u["sn"], u["displayName"])
		}
	})

	t.Run("RoleNotMirroredDisablesNotDeletes", func(t *testing.T) {
		a := sc.account(t, "mjones")
		if err := sc.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error { x.Role = directory.RoleGuest; return nil }); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionAccountUpdate, Target: audit.AccountTarget(a.Username)})
		}); err != nil {
			t.Fatal(err)
		}
		p := sync1(t, sy, false)
		if got := changesOf(p, downstream.KindDisable); !slices.Equal(got, []string{"mjones"}) || len(changesOf(p, downstream.KindDelete)) != 0 {
			t.Errorf("disabled %v, deleted %v", got, changesOf(p, downstream.KindDelete))
		}
		if uac := dc.UserShow(t, "mjones")["userAccountControl"]; !slices.Contains(uac, "514") {
			t.Errorf("mjones's userAccountControl = %v", uac)
		}
	})

	t.Run("PurgeDeletes", func(t *testing.T) {
		a := sc.account(t, "25bjones")
		if err := sc.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if err := tx.DeleteAccount(ctx, a.ID); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionAccountPurge, Target: audit.AccountTarget(a.Username)})
		}); err != nil {
			t.Fatal(err)
		}
		p := sync1(t, sy, false)
		if got := changesOf(p, downstream.KindDelete); !slices.Equal(got, []string{"25bjones"}) {
			t.Errorf("deleted %v", got)
		}
		if _, err := exec1("samba-tool", "user", "show", "25bjones", "-s", dc.Conf); err == nil {
			t.Error("25bjones is still in the domain")
		}
	})

	t.Run("HandMadeObjectsUntouched", func(t *testing.T) {
		for dn, usn := range handMade {
			if got := usnOf(t, admin, dn); got != usn {
				t.Errorf("%s changed (uSNChanged %s → %s)", dn, usn, got)
			}
		}
		if ok, out := dc.Kinit(t, "byhand", "By-Hand-Pass-77"); !ok {
			t.Errorf("the hand-made account's kinit: %s", out)
		}
	})
}

// pushNow pushes the passwords waiting, as the schedule does.
func pushNow(t *testing.T, s *downstream.Sync) (downstream.PushResult, error) {
	t.Helper()
	return s.Push(context.Background(), "test")
}

func exec1(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}
