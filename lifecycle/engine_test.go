package lifecycle_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
	"keystage.dev/keystage/lifecycle"
)

// fixture is an engine over a fresh SQLite store with a fake clock.
type fixture struct {
	t     *testing.T
	s     directory.Store
	d     *directory.Directory
	e     *lifecycle.Engine
	now   time.Time
	ended []string
}

// opener opens a fresh, empty store for one test.
type opener func(t *testing.T) directory.Store

// backends runs fn on SQLite and on PostgreSQL (the database named by
// KEYSTAGE_TEST_POSTGRES, in a schema of its own; skipped without one,
// failed without one in CI).
func backends(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { fn(t, openPostgres) })
}

func openSQLite(t *testing.T) directory.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T) directory.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newFixture(t *testing.T, open opener, pol lifecycle.Policy) *fixture {
	t.Helper()
	s := open(t)
	f := &fixture{t: t, s: s, now: time.Date(2026, 9, 1, 7, 0, 0, 0, time.UTC)}
	f.d = directory.New(s, directory.Config{Now: func() time.Time { return f.now }})
	f.d.OnAccessEnded(func(_ context.Context, a directory.Account) { f.ended = append(f.ended, a.Username) })
	f.e = &lifecycle.Engine{Dir: f.d, Policy: pol}
	return f
}

func date(s string) time.Time {
	t, err := directory.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func pupil(id, given, family, year, reg string) lifecycle.Record {
	return lifecycle.Record{MISID: id, Role: directory.RolePupil, GivenName: given, FamilyName: family,
		YearGroup: year, RegGroup: reg, StartDate: date("2026-09-03")}
}

func staff(id, given, family string) lifecycle.Record {
	return lifecycle.Record{MISID: id, Role: directory.RoleStaff, GivenName: given, FamilyName: family, StartDate: date("2020-09-01")}
}

func bulk(recs ...lifecycle.Record) *lifecycle.Export {
	for i := range recs {
		if recs[i].Line == 0 {
			recs[i].Line = i + 2
			recs[i].File = "users.csv"
		}
	}
	return &lifecycle.Export{Source: "test:bulk", Records: recs, Rows: len(recs)}
}

func (f *fixture) plan(exp *lifecycle.Export) *lifecycle.Plan {
	f.t.Helper()
	p, err := f.e.PlanSync(context.Background(), exp, lifecycle.SyncOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) apply(p *lifecycle.Plan) directory.SyncRun {
	f.t.Helper()
	run, err := f.e.Apply(context.Background(), p, "test")
	if err != nil {
		f.t.Fatal(err)
	}
	return run
}

func (f *fixture) sync(exp *lifecycle.Export) *lifecycle.Plan {
	f.t.Helper()
	p := f.plan(exp)
	f.apply(p)
	return p
}

func (f *fixture) account(mis string) directory.Account {
	f.t.Helper()
	a, err := f.s.AccountByMISID(context.Background(), mis)
	if err != nil {
		f.t.Fatalf("account %s: %v", mis, err)
	}
	return a
}

func (f *fixture) groups(mis string) string {
	f.t.Helper()
	gs, err := f.s.GroupsOf(context.Background(), f.account(mis).ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	return strings.Join(names, ",")
}

func kinds(p *lifecycle.Plan) map[lifecycle.Kind][]string {
	out := map[lifecycle.Kind][]string{}
	for _, c := range p.Changes {
		out[c.Kind] = append(out[c.Kind], c.MISID)
	}
	return out
}

func (f *fixture) manual(a directory.Account, group string) directory.Account {
	f.t.Helper()
	err := f.s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if group != "" {
			g, err := tx.GroupByName(ctx, group)
			if errors.Is(err, directory.ErrNotFound) {
				g = directory.Group{Name: group, Kind: directory.GroupCustom, Source: directory.SourceManual}
				err = tx.CreateGroup(ctx, &g)
			}
			if err != nil {
				return err
			}
			if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.create", Target: "account:" + a.Username})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func TestStartersGetUsernamesAndGroups(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{Reserved: []string{"hell"}})
		// An account kept by hand holds jsmith already.
		f.manual(directory.Account{Username: "jsmith", Role: directory.RoleService, Source: directory.SourceManual}, "")
		future := pupil("P4", "Siân", "ap Rhys", "7", "7B")
		future.StartDate = date("2027-01-05")
		future.Classes = []string{"7B/Ma1"}
		p := f.plan(bulk(
			pupil("P1", "Jane", "Smith", "7", "7A"),
			pupil("P2", "John", "Smith", "7", "7A"),
			pupil("P3", "Zoë", "O'Connor-Smyth", "7", "7A"),
			future,
			pupil("P5", "Hannah", "Ell", "7", "7B"), // 26hell holds a reserved word
			staff("S1", "Jim", "Smith"),
		))
		want := map[string]string{"P1": "26jsmith", "P2": "26jsmith2", "P3": "26zoconnorsmyth", "P4": "27saprhys", "P5": "26haell", "S1": "jsmith2"}
		if got := kinds(p)[lifecycle.KindStart]; len(got) != len(want) {
			t.Fatalf("starters %v, want %d", got, len(want))
		}
		for _, c := range p.Changes {
			if c.Username != want[c.MISID] {
				t.Errorf("%s: username %s, want %s", c.MISID, c.Username, want[c.MISID])
			}
		}
		f.apply(p)
		if g := f.groups("P1"); g != "7a,pupils,year-7" {
			t.Errorf("P1 groups %s", g)
		}
		if g := f.groups("P4"); g != "7b,7b-ma1,pupils,year-7" {
			t.Errorf("P4 groups %s", g)
		}
		if g := f.groups("S1"); g != "staff" {
			t.Errorf("S1 groups %s", g)
		}
		a := f.account("P4")
		if a.Status != directory.StatusActive || !a.StartDate.Equal(date("2027-01-05")) {
			t.Errorf("a future starter is created now with its start date: %+v", a)
		}
		dec, err := f.d.Gate().Check(context.Background(), a, directory.ServiceLDAP, f.now)
		if err != nil || dec.Allow || dec.Reason != directory.ReasonNotStarted {
			t.Errorf("the gate keeps a future starter out until the day: %+v %v", dec, err)
		}
		runs, _ := f.s.SyncRuns(context.Background(), "sync", 1)
		if len(runs) != 1 || runs[0].Counts["start"] != 6 || runs[0].Rows != 6 || !runs[0].Applied {
			t.Errorf("run recorded: %+v", runs)
		}
		// The same export again changes nothing.
		if again := f.plan(bulk(
			pupil("P1", "Jane", "Smith", "7", "7A"), pupil("P2", "John", "Smith", "7", "7A"),
			pupil("P3", "Zoë", "O'Connor-Smyth", "7", "7A"), future, pupil("P5", "Hannah", "Ell", "7", "7B"), staff("S1", "Jim", "Smith"),
		)); len(again.Changes) != 0 || len(again.Groups) != 0 {
			t.Errorf("a second run of the same export: %+v", again.Changes)
		}
	})
}

func TestUsernameStableWhateverTheRowOrder(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		a := newFixture(t, open, lifecycle.Policy{})
		b := newFixture(t, open, lifecycle.Policy{})
		r1, r2 := pupil("P1", "Jane", "Smith", "7", "7A"), pupil("P2", "Jo", "Smith", "7", "7A")
		pa, pb := a.plan(bulk(r1, r2)), b.plan(bulk(r2, r1))
		name := func(p *lifecycle.Plan, id string) string {
			for _, c := range p.Changes {
				if c.MISID == id {
					return c.Username
				}
			}
			return ""
		}
		if name(pa, "P1") == "" || name(pa, "P2") == "" || name(pa, "P1") == name(pa, "P2") {
			t.Fatalf("two starters without two usernames: %v", pa.Changes)
		}
		if name(pa, "P1") != name(pb, "P1") || name(pa, "P2") != name(pb, "P2") {
			t.Errorf("row order changed usernames: %v / %v", pa.Changes, pb.Changes)
		}
	})
}

func TestMovers(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		r := pupil("P1", "Jane", "Smith", "6", "6A")
		r.Classes = []string{"6-ma-1"}
		f.sync(bulk(r, staff("S1", "Jim", "Brown")))
		name := f.account("P1").Username
		r.YearGroup, r.RegGroup, r.FamilyName, r.Classes = "7", "7C", "Jones", []string{"7-ma-2"}
		p := f.sync(bulk(r, staff("S1", "Jim", "Brown")))
		if got := kinds(p)[lifecycle.KindMove]; len(got) != 1 || got[0] != "P1" || len(p.Changes) != 1 {
			t.Fatalf("movers: %+v", p.Changes)
		}
		why := strings.Join(p.Changes[0].Why, "; ")
		for _, w := range []string{"year 6 → 7", "registration group 6A → 7C", "family name Smith → Jones (username kept)"} {
			if !strings.Contains(why, w) {
				t.Errorf("mover says %q, want %q in it", why, w)
			}
		}
		a := f.account("P1")
		if a.Username != name || a.YearGroup != "7" || a.RegGroup != "7C" || a.FamilyName != "Jones" {
			t.Errorf("moved account: %+v", a)
		}
		if g := f.groups("P1"); g != "7-ma-2,7c,pupils,year-7" {
			t.Errorf("groups after the move: %s", g)
		}
	})
}

func TestManualAccountsAndGroupsUntouched(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		f.sync(bulk(pupil("P1", "Jane", "Smith", "7", "7A"), staff("S1", "Jim", "Brown")))
		svc := f.manual(directory.Account{Username: "printer", Role: directory.RoleService, Source: directory.SourceManual}, "staff-extra")
		guest := f.manual(directory.Account{Username: "visitor1", Role: directory.RoleGuest, Source: directory.SourceManual, MISID: "G1"}, "")
		// A person the MIS owns, added to a manual group by hand, keeps it.
		err := f.s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
			g, err := tx.GroupByName(ctx, "staff-extra")
			if err != nil {
				return err
			}
			if err := tx.AddMember(ctx, g.ID, f.account("S1").ID); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "group.member.add", Target: "group:staff-extra"})
		})
		if err != nil {
			t.Fatal(err)
		}
		// A manual account's MIS id in the export is refused, not taken over.
		g := pupil("G1", "Vera", "Visitor", "7", "7A")
		for i := 0; i < 3; i++ {
			p := f.sync(bulk(pupil("P1", "Jane", "Smith", "7", "7A"), staff("S1", "Jim", "Brown"), g))
			for _, c := range p.Changes {
				t.Errorf("run %d: unexpected change %+v", i, c)
			}
			if len(p.Refused) != 1 || !strings.Contains(p.Refused[0].Reason, "kept by hand") {
				t.Errorf("refused: %+v", p.Refused)
			}
		}
		for _, a := range []directory.Account{svc, guest} {
			got, err := f.s.Account(context.Background(), a.ID)
			if err != nil || got.Status != directory.StatusActive || !got.UpdatedAt.Equal(a.UpdatedAt) {
				t.Errorf("manual account %s touched: %+v %v", a.Username, got, err)
			}
		}
		if gs := f.groups("S1"); gs != "staff,staff-extra" {
			t.Errorf("S1's manual group kept: %s", gs)
		}
	})
}

func TestLeaversGraceAndTheLeaverJob(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		pol := lifecycle.Policy{Grace: []lifecycle.Grace{{Role: directory.RolePupil, Year: "11", Until: "09-30"}}, MassChange: 0.5}
		f := newFixture(t, open, pol)
		f.now = time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
		y11 := pupil("P1", "Jane", "Smith", "11", "11A")
		y9 := pupil("P2", "Jo", "Bloggs", "9", "9A")
		others := []lifecycle.Record{pupil("P3", "A", "One", "9", "9A"), pupil("P4", "B", "Two", "9", "9A"), staff("S1", "C", "Three")}
		for _, r := range []*lifecycle.Record{&y11, &y9, &others[0], &others[1]} {
			r.StartDate = date("2022-09-05")
		}
		f.sync(bulk(append([]lifecycle.Record{y11, y9}, others...)...))
		err := f.s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
			if err := tx.AddCredential(ctx, &directory.Credential{AccountID: f.account("P2").ID, Kind: directory.CredWiFi, Secret: "sealed", KeyID: "k1"}); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "wifi.issue", Target: "account:x"})
		})
		if err != nil {
			t.Fatal(err)
		}
		f.now = time.Date(2026, 7, 24, 7, 0, 0, 0, time.UTC)
		y11.LeaveDate = date("2026-07-22")
		y9.Deleted = true
		p := f.sync(bulk(append([]lifecycle.Record{y11, y9}, others...)...))
		if got := kinds(p)[lifecycle.KindLeave]; len(got) != 2 {
			t.Fatalf("leavers: %+v", p.Changes)
		}
		a1, a2 := f.account("P1"), f.account("P2")
		if a1.Status != directory.StatusActive || !a1.LeaveDate.Equal(date("2026-07-22")) {
			t.Errorf("year 11 keeps access in its grace: %+v", a1)
		}
		if a2.Status != directory.StatusDisabled || !strings.HasPrefix(a2.DisableReason, "left: ") {
			t.Errorf("a tobedeleted year 9 is disabled now: %+v", a2)
		}
		if len(f.ended) != 1 || f.ended[0] != a2.Username {
			t.Errorf("live sessions ended for %v", f.ended)
		}
		creds, _ := f.s.Credentials(context.Background(), a2.ID, directory.CredWiFi)
		for _, c := range creds {
			if c.RevokedAt.IsZero() {
				t.Errorf("leaver's Wi-Fi credential still in force")
			}
		}
		// The gate agrees with the grace.
		f.d.Gate().Policy.LeaverGrace = pol.LeaverGrace
		if dec, _ := f.d.Gate().Check(context.Background(), a1, directory.ServiceWiFi, f.now); dec.Reason == directory.ReasonLeft {
			t.Errorf("the gate refuses a year 11 in grace: %+v", dec)
		}
		// The same export again: nothing more to do.
		if again := f.plan(bulk(append([]lifecycle.Record{y11, y9}, others...)...)); len(again.Changes) != 0 {
			t.Errorf("re-run: %+v", again.Changes)
		}
		// The leaver job does nothing on 30 September, and disables on 1 October.
		lp, err := f.e.PlanLeavers(context.Background(), time.Date(2026, 9, 30, 23, 0, 0, 0, time.UTC), lifecycle.SyncOptions{})
		if err != nil || len(lp.Changes) != 0 {
			t.Fatalf("leavers on 30 September: %+v %v", lp, err)
		}
		f.now = time.Date(2026, 10, 1, 0, 30, 0, 0, time.UTC)
		lp, err = f.e.PlanLeavers(context.Background(), f.now, lifecycle.SyncOptions{})
		if err != nil || len(lp.Changes) != 1 || lp.Changes[0].Kind != lifecycle.KindDisable || lp.Changes[0].MISID != "P1" {
			t.Fatalf("leavers on 1 October: %+v %v", lp, err)
		}
		f.apply(lp)
		if a := f.account("P1"); a.Status != directory.StatusDisabled {
			t.Errorf("leaver job did not disable: %+v", a)
		}
	})
}

func TestReturners(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{MassChange: 1})
		r := pupil("P1", "Jane", "Smith", "9", "9A")
		h := pupil("P2", "Jo", "Held", "9", "9A")
		f.sync(bulk(r, h))
		name := f.account("P1").Username
		r.Deleted = true
		f.sync(bulk(r, h))
		if a := f.account("P1"); a.Status != directory.StatusDisabled {
			t.Fatalf("not disabled: %+v", a)
		}
		// A technician disables P2 by hand.
		err := f.s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
			if _, err := tx.UpdateAccount(ctx, f.account("P2").ID, func(a *directory.Account) error {
				a.Status, a.DisabledAt, a.DisableReason = directory.StatusDisabled, f.now, "misuse"
				return nil
			}); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.disable", Target: "account:x"})
		})
		if err != nil {
			t.Fatal(err)
		}
		r.Deleted = false
		r.YearGroup = "10"
		p := f.sync(bulk(r, h))
		k := kinds(p)
		if len(k[lifecycle.KindReturn]) != 1 || len(k[lifecycle.KindHold]) != 1 || k[lifecycle.KindHold][0] != "P2" {
			t.Fatalf("returner and hold: %+v", p.Changes)
		}
		a := f.account("P1")
		if a.Status != directory.StatusActive || a.Username != name || a.YearGroup != "10" || !a.LeaveDate.IsZero() || a.DisableReason != "" {
			t.Errorf("returner: %+v", a)
		}
		if a := f.account("P2"); a.Status != directory.StatusDisabled || a.DisableReason != "misuse" {
			t.Errorf("disabled by hand must stay so: %+v", a)
		}
	})
}

func TestMissingBecomesLeaverAfterNRuns(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{MissingRuns: 2, MassChange: 1})
		all := []lifecycle.Record{pupil("P1", "A", "One", "7", "7A"), pupil("P2", "B", "Two", "7", "7A"), pupil("P3", "C", "Three", "7", "7A")}
		f.sync(bulk(all...))
		p := f.sync(bulk(all[:2]...))
		if got := kinds(p)[lifecycle.KindMissing]; len(got) != 1 || got[0] != "P3" {
			t.Fatalf("first absence: %+v", p.Changes)
		}
		if a := f.account("P3"); a.Status != directory.StatusActive {
			t.Fatalf("one absence disabled: %+v", a)
		}
		// Refused rows count as present: a person whose row is broken is not missing.
		broken := &lifecycle.Export{Source: "test:bulk", Records: []lifecycle.Record{all[0]}, Rows: 3,
			Refused: []lifecycle.Refusal{{File: "users.csv", Line: 3, MISID: "P2", Reason: "start date 31/13/2026 is not a date"}}}
		p = f.sync(broken)
		k := kinds(p)
		if len(k[lifecycle.KindLeave]) != 1 || k[lifecycle.KindLeave][0] != "P3" || len(k[lifecycle.KindMissing]) != 0 {
			t.Fatalf("second absence: %+v", p.Changes)
		}
		if a := f.account("P3"); a.Status != directory.StatusDisabled {
			t.Errorf("leaver after two absences: %+v", a)
		}
		if a := f.account("P2"); a.Status != directory.StatusActive {
			t.Errorf("a refused row made a leaver: %+v", a)
		}
		// The queue holds the refused row until an export fixes it.
		q, _ := f.s.SyncRefusals(context.Background())
		if len(q) != 1 || q[0].Line != 3 || q[0].MISID != "P2" {
			t.Fatalf("queue: %+v", q)
		}
		f.sync(bulk(all[:2]...))
		if q, _ := f.s.SyncRefusals(context.Background()); len(q) != 0 {
			t.Errorf("queue after a good export: %+v", q)
		}
	})
}

func TestRefusedRows(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		noName := lifecycle.Record{MISID: "P9", Role: directory.RolePupil}
		badDates := pupil("P8", "Ed", "Early", "7", "7A")
		badDates.LeaveDate = date("2026-01-01")
		p := f.plan(&lifecycle.Export{Source: "csv:x", Rows: 6, Records: []lifecycle.Record{
			{File: "x.csv", Line: 2, MISID: "P1", Role: directory.RolePupil, GivenName: "A", FamilyName: "One"},
			{File: "x.csv", Line: 3, MISID: "P1", Role: directory.RolePupil, GivenName: "A", FamilyName: "Dup"},
			{File: "x.csv", Line: 4, MISID: " ", Role: directory.RolePupil, GivenName: "No", FamilyName: "Id"},
			{File: "x.csv", Line: 5, MISID: "P9", Role: noName.Role},
			{File: "x.csv", Line: 6, MISID: "P8", Role: directory.RolePupil, GivenName: "Ed", StartDate: date("2026-09-01"), LeaveDate: date("2026-01-01")},
			{File: "x.csv", Line: 7, MISID: "P7", Role: directory.RoleGuest, GivenName: "Gus"},
		}})
		want := map[int]string{3: "also on line 2", 4: "no MIS id", 5: "no name", 6: "before start date", 7: "staff and pupils only"}
		if len(p.Refused) != len(want) {
			t.Fatalf("refused: %+v", p.Refused)
		}
		for _, r := range p.Refused {
			if !strings.Contains(r.Reason, want[r.Line]) {
				t.Errorf("line %d: %q, want %q", r.Line, r.Reason, want[r.Line])
			}
		}
		if got := kinds(p)[lifecycle.KindStart]; len(got) != 1 || got[0] != "P1" {
			t.Errorf("starters: %v", got)
		}
		var b strings.Builder
		if err := p.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "x.csv line 3: MIS id P1 is also on line 2") || !strings.Contains(b.String(), "refused rows:") {
			t.Errorf("printed plan:\n%s", b.String())
		}
	})
}

func TestMassChangeRefused(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{MissingRuns: 1})
		var all []lifecycle.Record
		for i := 0; i < 40; i++ {
			all = append(all, pupil("P"+string(rune('A'+i/26))+string(rune('a'+i%26)), "A", "Pupil", "7", "7A"))
		}
		f.sync(bulk(all...))
		// A truncated export: half the rows.
		p := f.plan(bulk(all[:20]...))
		if p.Blocked == "" || !strings.Contains(p.Blocked, "disable 20 of 40") || !strings.Contains(p.Blocked, "20 fewer than the 40") {
			t.Fatalf("blocked: %q", p.Blocked)
		}
		if _, err := f.e.Apply(context.Background(), p, "test"); !errors.Is(err, lifecycle.ErrMassChange) {
			t.Fatalf("apply of a blocked plan: %v", err)
		}
		if n, _ := f.s.CountAccounts(context.Background(), directory.AccountQuery{Status: directory.StatusDisabled}); n != 0 {
			t.Errorf("%d disabled by a refused plan", n)
		}
		// Two leavers of 40 (5%) is allowed; three is not.
		if p := f.plan(bulk(all[:38]...)); p.Blocked != "" {
			t.Errorf("5%% blocked: %s", p.Blocked)
		}
		if p := f.plan(bulk(all[:37]...)); p.Blocked == "" {
			t.Errorf("7.5%% not blocked")
		}
		p, err := f.e.PlanSync(context.Background(), bulk(all[:20]...), lifecycle.SyncOptions{AllowMassChange: true})
		if err != nil {
			t.Fatal(err)
		}
		f.apply(p)
		if n, _ := f.s.CountAccounts(context.Background(), directory.AccountQuery{Status: directory.StatusDisabled}); n != 20 {
			t.Errorf("allowed mass change disabled %d", n)
		}
	})
}

func TestStalePlanRefused(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		f.sync(bulk(pupil("P1", "Jane", "Smith", "7", "7A")))
		p := f.plan(bulk(pupil("P1", "Jane", "Smith", "8", "8A"), pupil("P2", "Jo", "New", "7", "7A")))
		// A change the plan does not depend on (a password) leaves it good.
		err := f.s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
			if err := tx.AddCredential(ctx, &directory.Credential{AccountID: f.account("P1").ID, Kind: directory.CredPassword, Secret: "x"}); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "password.set", Target: "account:x"})
		})
		if err != nil {
			t.Fatal(err)
		}
		before, _, _ := f.s.AuditHead(context.Background())
		// A change to an account the MIS owns spoils it.
		err = f.s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
			if _, err := tx.UpdateAccount(ctx, f.account("P1").ID, func(a *directory.Account) error { a.Email = "jane@x"; return nil }); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.update", Target: "account:x"})
		})
		if err != nil {
			t.Fatal(err)
		}
		before++
		if _, err := f.e.Apply(context.Background(), p, "test"); !errors.Is(err, lifecycle.ErrStale) {
			t.Fatalf("stale plan applied: %v", err)
		}
		if after, _, _ := f.s.AuditHead(context.Background()); after != before {
			t.Errorf("a refused apply wrote events: %d → %d", before, after)
		}
		if _, err := f.s.AccountByMISID(context.Background(), "P2"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("a refused apply created a starter: %v", err)
		}
		// So does a username taken by hand meanwhile.
		p = f.plan(bulk(pupil("P1", "Jane", "Smith", "7", "7A"), pupil("P2", "Jo", "New", "7", "7A")))
		f.manual(directory.Account{Username: "26jnew", Role: directory.RoleService, Source: directory.SourceManual}, "")
		if _, err := f.e.Apply(context.Background(), p, "test"); !errors.Is(err, lifecycle.ErrStale) {
			t.Fatalf("plan applied over a username taken meanwhile: %v", err)
		}
	})
}

func TestDeltaKeepsAbsentAndAdvancesWatermark(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{MissingRuns: 1})
		a, b := pupil("P1", "A", "One", "7", "7A"), pupil("P2", "B", "Two", "7", "7A")
		a.Modified = time.Date(2026, 8, 30, 10, 0, 0, 0, time.UTC)
		b.Modified = time.Date(2026, 8, 31, 10, 0, 0, 0, time.UTC)
		f.sync(bulk(a, b))
		runs, _ := f.s.SyncRuns(context.Background(), "sync", 1)
		if runs[0].Watermark != "2026-08-31T10:00:00Z" {
			t.Errorf("bulk watermark %q", runs[0].Watermark)
		}
		a.YearGroup, a.Modified = "8", time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
		p := f.sync(&lifecycle.Export{Source: "test:delta", Delta: true, Records: []lifecycle.Record{a}, Rows: 1})
		if len(p.Changes) != 1 || p.Changes[0].Kind != lifecycle.KindMove || p.Blocked != "" {
			t.Fatalf("delta: %+v %s", p.Changes, p.Blocked)
		}
		if got := f.account("P2"); got.Status != directory.StatusActive {
			t.Errorf("absent from a delta is not a leaver: %+v", got)
		}
		runs, _ = f.s.SyncRuns(context.Background(), "sync", 1)
		if runs[0].Watermark != "2026-09-01T06:00:00Z" {
			t.Errorf("delta watermark %q", runs[0].Watermark)
		}
		// An older record does not move the watermark back.
		b.Modified = time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
		f.sync(&lifecycle.Export{Source: "test:delta", Delta: true, Records: []lifecycle.Record{b}, Rows: 1})
		runs, _ = f.s.SyncRuns(context.Background(), "sync", 1)
		if runs[0].Watermark != "2026-09-01T06:00:00Z" {
			t.Errorf("watermark went back: %q", runs[0].Watermark)
		}
	})
}

func TestRetentionPurgesAndNeverReusesUsernames(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{Retention: 365 * 24 * time.Hour, MassChange: 1})
		r := pupil("P1", "Jane", "Smith", "7", "7A")
		f.sync(bulk(r, pupil("P2", "Keep", "Er", "7", "7A")))
		r.Deleted = true
		f.sync(bulk(r, pupil("P2", "Keep", "Er", "7", "7A")))
		disabled := f.account("P1")
		f.now = f.now.Add(364 * 24 * time.Hour)
		if lp, _ := f.e.PlanLeavers(context.Background(), f.now, lifecycle.SyncOptions{}); len(lp.Changes) != 0 {
			t.Fatalf("purged within retention: %+v", lp.Changes)
		}
		f.now = f.now.Add(2 * 24 * time.Hour)
		lp, err := f.e.PlanLeavers(context.Background(), f.now, lifecycle.SyncOptions{})
		if err != nil || len(lp.Changes) != 1 || lp.Changes[0].Kind != lifecycle.KindPurge {
			t.Fatalf("purge: %+v %v", lp, err)
		}
		f.apply(lp)
		if _, err := f.s.AccountByMISID(context.Background(), "P1"); !errors.Is(err, directory.ErrNotFound) {
			t.Fatalf("not purged: %v", err)
		}
		evs, _ := f.s.AuditEvents(context.Background(), 0, 10000)
		found := false
		for _, e := range evs {
			if e.Action == "account.purge" && e.Target == "account:"+disabled.Username && strings.Contains(string(e.Before), `"mis_id":"P1"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("the purge left no audit event with the account's snapshot")
		}
		// A new Jane Smith starting in 2026 gets 26jsmith2, not the purged name.
		p := f.plan(bulk(pupil("P3", "Jane", "Smith", "7", "7A"), pupil("P2", "Keep", "Er", "7", "7A")))
		if len(p.Changes) != 1 || p.Changes[0].Username != "26jsmith2" {
			t.Errorf("reused a purged username: %+v", p.Changes)
		}
	})
}

// TestMessyReportEndToEnd plans and applies a CSV report laid out as SIMS
// prints one (BOM, blank and quoted-newline lines, names with diacritics
// in NFD, mixed date layouts, a contact row, a pupil who left before any
// sync) through the real reader.
func TestMessyReportEndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		london, err := time.LoadLocation("Europe/London")
		if err != nil {
			t.Skip("no time zone data")
		}
		f := newFixture(t, open, lifecycle.Policy{Location: london})
		src, err := lifecycle.Open("csv:testdata/sims-report.csv", lifecycle.ReadOptions{Location: london, Mapping: lifecycle.CSVMapping{
			ID: "Adno", GivenName: "Legal Forename", FamilyName: "Legal Surname", PreferredName: "Preferred Forename",
			Role: "Type", SkipValues: []string{"Contact"}, YearGroup: "Year", RegGroup: "Reg",
			Classes: "Classes", StartDate: "Start", LeaveDate: "Leaving", Email: "Email"}})
		if err != nil {
			t.Fatal(err)
		}
		exp, err := src.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p := f.sync(exp)
		want := map[string]string{"004001": "26zoconnorsmyth", "004002": "25tnguyen", "004003": "26saprhys", "S0001": "osmith", "004004": "26ykhan"}
		if got := kinds(p)[lifecycle.KindStart]; len(got) != len(want) || len(p.Changes) != len(want)+1 {
			t.Fatalf("changes: %+v", p.Changes)
		}
		// The pupil who left before any sync is listed as skipped, with why.
		if got := kinds(p)[lifecycle.KindSkip]; len(got) != 1 || got[0] != "004006" {
			t.Fatalf("skipped: %v, want the past leaver 004006", got)
		}
		for _, c := range p.Changes {
			if c.Kind == lifecycle.KindSkip {
				if w := strings.Join(c.Why, "; "); !strings.Contains(w, "line 10") || !strings.Contains(w, "left 2026-07-22") || !strings.Contains(w, "never had an account") {
					t.Errorf("skip reason: %q", w)
				}
				var b strings.Builder
				if err := p.WriteText(&b); err != nil || !strings.Contains(b.String(), "skipped (left, never had an account): 1") || !strings.Contains(b.String(), "skip                          [004006]") {
					t.Errorf("the plan text does not list the skip:\n%s", b.String())
				}
				continue
			}
			if c.Username != want[c.MISID] {
				t.Errorf("%s: %s, want %s", c.MISID, c.Username, want[c.MISID])
			}
		}
		a := f.account("004004")
		if directory.FormatDate(a.StartDate) != "2026-09-03" || directory.FormatDate(a.LeaveDate) != "2027-08-31" {
			t.Errorf("dates kept in the school's calendar: start %s leave %s", directory.FormatDate(a.StartDate), directory.FormatDate(a.LeaveDate))
		}
		if g := f.groups("004001"); g != "7-en-2,7-ma-1,7a,pupils,year-7" {
			t.Errorf("groups: %s", g)
		}
		if _, err := f.s.AccountByMISID(context.Background(), "004006"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("a pupil who left before the first sync got an account: %v", err)
		}
		if again := f.plan(exp); len(again.Changes) != 1 || again.Changes[0].Kind != lifecycle.KindSkip {
			t.Errorf("the same report again: %+v", again.Changes)
		}
	})
}

// TestPreferredNameKeepsTheLegalName: a preferred forename from the MIS
// replaces the legal forename in the name people see, never the whole
// name, and the legal names are kept.
func TestPreferredNameKeepsTheLegalName(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		john := staff("S1", "John", "Smith")
		john.PreferredName = "Jack"
		khai := pupil("P1", "Thị Minh Khai", "Nguyễn", "7", "7A")
		khai.PreferredName = "Khai"
		same := pupil("P2", "Amir", "Khan", "7", "7A")
		same.PreferredName = "Amir"
		whole := pupil("P3", "Robert", "Jones", "7", "7A")
		whole.PreferredName = "Bobby Jones"
		f.sync(bulk(john, khai, same, whole))
		for id, want := range map[string][3]string{
			"S1": {"Jack Smith", "John", "Smith"},
			"P1": {"Khai Nguyễn", "Thị Minh Khai", "Nguyễn"},
			"P2": {"Amir Khan", "Amir", "Khan"},
			"P3": {"Bobby Jones", "Robert", "Jones"},
		} {
			a := f.account(id)
			if a.Name() != want[0] || a.GivenName != want[1] || a.FamilyName != want[2] {
				t.Errorf("%s: shown %q, legal %q %q; want %q, legal %q %q", id, a.Name(), a.GivenName, a.FamilyName, want[0], want[1], want[2])
			}
		}
		if a := f.account("P1"); a.LegalName() != "Thị Minh Khai Nguyễn" {
			t.Errorf("legal name %q", a.LegalName())
		}
		// The same export again changes nothing.
		if again := f.plan(bulk(john, khai, same, whole)); len(again.Changes) != 0 {
			t.Errorf("re-run: %+v", again.Changes)
		}
	})
}
