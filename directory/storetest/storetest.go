// Package storetest is the conformance suite that every directory.Store
// passes. A backend's tests call Run with a function that opens a fresh,
// empty store; the suite must not depend on anything else.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// Opener opens a fresh, empty, migrated store for one test; it arranges
// for the store to be closed when the test ends.
type Opener func(t *testing.T) directory.Store

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s directory.Store)
	}{
		{"AccountCRUD", testAccountCRUD},
		{"AccountLookups", testAccountLookups},
		{"AccountsByEmail", testAccountsByEmail},
		{"AccountConflicts", testAccountConflicts},
		{"ListAndCount", testListAndCount},
		{"ListFiltersAndPages", testListFiltersAndPages},
		{"PosixIDsNeverReused", testPosixIDsNeverReused},
		{"UsernameTakenAfterPurge", testUsernameTakenAfterPurge},
		{"UnauditedChangeRollsBack", testUnaudited},
		{"ErrorRollsBack", testErrorRollsBack},
		{"Groups", testGroups},
		{"Credentials", testCredentials},
		{"AUPSignaturesConsents", testAUP},
		{"Suspensions", testSuspensions},
		{"UpcomingSuspensions", testUpcomingSuspensions},
		{"SuspensionScopeAndTalk", testSuspensionScopeAndTalk},
		{"ConsentDecisions", testConsentDecisions},
		{"LegalHolds", testLegalHolds},
		{"MonitoringNotice", testMonitoringNotice},
		{"NASClients", testNAS},
		{"SealedKeys", testSealedKeys},
		{"SyncRuns", testSyncRuns},
		{"SyncRefusals", testSyncRefusals},
		{"MissingRuns", testMissingRuns},
		{"AuditChain", testAuditChain},
		{"ConcurrentWritersKeepChainLinear", testConcurrentWriters},
		{"UsageAndFailures", testUsageAndFailures},
		{"FailureFingerprintsCountOnce", testFailureFingerprints},
		{"PruneFailures", testPruneFailures},
		{"FamiliarSources", testFamiliarSources},
		{"Sessions", testSessions},
		{"CloseNASSessions", testCloseNASSessions},
		{"SessionsAt", testSessionsAt},
		{"NoteUses", testNoteUses},
		{"Dormant", testDormant},
		{"DashboardCounts", testDashboardCounts},
		{"SchoolDashboardCounts", testSchoolDashboardCounts},
		{"RecentFailures", testRecentFailures},
		{"NASHeard", testNASHeard},
		{"AuditEventsByAction", testAuditEventsByAction},
		{"GateOnStore", testGateOnStore},
		{"PortalSessions", testPortalSessions},
		{"AuditCheckpoints", testAuditCheckpoints},
		{"AuditPrune", testAuditPrune},
		{"AuditEventsAbout", testAuditEventsAbout},
		{"JobLock", testJobLock},
		{"PendingPasswords", testPendingPasswords},
		{"NetworkPolicies", testNetworkPolicies},
		{"Approvals", testApprovals},
		{"Devices", testDevices},
		{"Schools", testSchools},
		{"FactsBetween", testFactsBetween},
		{"CaughtUp", testCaughtUp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// Update runs fn in a transaction that records one audit event, the way
// every caller of Store.Update must.
func update(t *testing.T, s directory.Store, fn func(ctx context.Context, tx directory.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.change", Target: t.Name()})
	}); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func pupil(username, mis string) directory.Account {
	return directory.Account{
		Username: username, Role: directory.RolePupil, Source: directory.SourceMIS, MISID: mis,
		GivenName: "Zoë", FamilyName: "O'Connor-Smyth", YearGroup: "7", RegGroup: "7A",
		StartDate: time.Date(2025, 9, 3, 0, 0, 0, 0, time.UTC),
	}
}

func mustCreate(t *testing.T, s directory.Store, a directory.Account) directory.Account {
	t.Helper()
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.CreateAccount(ctx, &a) })
	return a
}

func testAccountCRUD(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("25zoconnor", "MIS001"))
	if a.ID == 0 || a.UUID == "" || a.UIDNumber == 0 || a.GIDNumber == 0 {
		t.Fatalf("create did not assign ids: %+v", a)
	}
	if a.Status != directory.StatusActive || a.HomeDirectory != "/home/25zoconnor" {
		t.Errorf("defaults: status %q home %q", a.Status, a.HomeDirectory)
	}
	got, err := s.Account(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.GivenName != "Zoë" || got.FamilyName != "O'Connor-Smyth" || got.MISID != "MIS001" ||
		!got.StartDate.Equal(a.StartDate) || !got.LeaveDate.IsZero() || got.UUID != a.UUID {
		t.Errorf("round trip: got %+v want %+v", got, a)
	}
	leave := time.Date(2026, 7, 22, 0, 0, 0, 0, time.UTC)
	var updated directory.Account
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		var err error
		updated, err = tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error {
			x.FamilyName = "Smyth"
			x.LeaveDate = leave
			x.UIDNumber = 1 // must be ignored: POSIX ids are for life
			x.MustChangePassword = true
			x.LegalNameWithheld = true
			return nil
		})
		return err
	})
	got, err = s.Account(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FamilyName != "Smyth" || !got.LeaveDate.Equal(leave) || got.UIDNumber != a.UIDNumber || !got.MustChangePassword || !got.LegalNameWithheld {
		t.Errorf("after update: %+v", got)
	}
	if updated.FamilyName != "Smyth" {
		t.Errorf("UpdateAccount returned %+v", updated)
	}
	// Withheld from creation, and shown again.
	w := pupil("25wheld", "MIS0W")
	w.LegalNameWithheld = true
	w = mustCreate(t, s, w)
	if got, err := s.AccountByUsername(ctx, "25wheld"); err != nil || !got.LegalNameWithheld {
		t.Errorf("legal_name_withheld not kept at creation: %+v %v", got, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateAccount(ctx, w.ID, func(x *directory.Account) error { x.LegalNameWithheld = false; return nil })
		return err
	})
	if got, err := s.AccountByMISID(ctx, "MIS0W"); err != nil || got.LegalNameWithheld {
		t.Errorf("legal_name_withheld not cleared: %+v %v", got, err)
	}
	if _, err := s.Account(ctx, a.ID+1000); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("missing account: err = %v, want ErrNotFound", err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, a.ID) })
	if _, err := s.AccountByUsername(ctx, "25zoconnor"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("after delete: err = %v, want ErrNotFound", err)
	}
}

func testAccountLookups(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("jsmith", "M-42"))
	for name, get := range map[string]func() (directory.Account, error){
		"username": func() (directory.Account, error) { return s.AccountByUsername(ctx, "jsmith") },
		"mis":      func() (directory.Account, error) { return s.AccountByMISID(ctx, "M-42") },
		"uid":      func() (directory.Account, error) { return s.AccountByUID(ctx, a.UIDNumber) },
		"uuid":     func() (directory.Account, error) { return s.AccountByUUID(ctx, a.UUID) },
	} {
		got, err := get()
		if err != nil || got.ID != a.ID {
			t.Errorf("by %s: got %d, %v; want %d", name, got.ID, err, a.ID)
		}
	}
	if _, err := s.AccountByUsername(ctx, "JSMITH"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("usernames are stored lower-case and matched exactly: err = %v", err)
	}
	if _, err := s.AccountByMISID(ctx, "nope"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("unknown MIS id: err = %v", err)
	}
	if _, err := s.AccountByUUID(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("unknown UUID: err = %v", err)
	}
}

func testAccountsByEmail(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := pupil("asmith", "M-1")
	a.Email = "a.smith@school.example"
	a = mustCreate(t, s, a)
	b := pupil("asmith2", "M-2")
	b.Email = "a.smith@school.example"
	b = mustCreate(t, s, b)
	c := pupil("bjones", "M-3")
	c.Email = "b.jones@school.example"
	mustCreate(t, s, c)
	for _, q := range []string{"a.smith@school.example", "A.Smith@School.Example"} {
		got, err := s.AccountsByEmail(ctx, q)
		if err != nil || len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
			t.Errorf("AccountsByEmail(%q) = %d accounts, %v; want %d and %d", q, len(got), err, a.ID, b.ID)
		}
	}
	if got, err := s.AccountsByEmail(ctx, "nobody@school.example"); err != nil || len(got) != 0 {
		t.Errorf("unknown address: %d accounts, %v", len(got), err)
	}
}

func testAccountConflicts(t *testing.T, s directory.Store) {
	ctx := context.Background()
	mustCreate(t, s, pupil("dup", "M1"))
	for name, a := range map[string]directory.Account{
		"username": pupil("dup", "M2"),
		"mis id":   pupil("other", "M1"),
	} {
		err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			a := a
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "x", Target: "y"})
		})
		if !errors.Is(err, directory.ErrConflict) {
			t.Errorf("duplicate %s: err = %v, want ErrConflict", name, err)
		}
	}
	// Two manual accounts without an MIS id do not conflict.
	for _, u := range []string{"svc-moodle", "svc-print"} {
		mustCreate(t, s, directory.Account{Username: u, Role: directory.RoleService})
	}
	bad := directory.Account{Username: "Bad Name", Role: directory.RoleStaff}
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error { return tx.CreateAccount(ctx, &bad) }); err == nil {
		t.Error("an invalid username was stored")
	}
}

func testListAndCount(t *testing.T, s directory.Store) {
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		a := pupil(fmt.Sprintf("p%02d", i), fmt.Sprintf("M%02d", i))
		if i%5 == 0 {
			a.Role, a.Source, a.MISID = directory.RoleStaff, directory.SourceManual, ""
		}
		mustCreate(t, s, a)
	}
	n, err := s.CountAccounts(ctx, directory.AccountQuery{Role: directory.RolePupil})
	if err != nil || n != 20 {
		t.Fatalf("count pupils = %d, %v; want 20", n, err)
	}
	var seen []string
	q := directory.AccountQuery{Role: directory.RolePupil, Limit: 7}
	for {
		page, err := s.ListAccounts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, a := range page {
			seen = append(seen, a.Username)
		}
		q.AfterID = page[len(page)-1].ID
	}
	if len(seen) != 20 {
		t.Errorf("paged through %d pupils, want 20: %v", len(seen), seen)
	}
	found, err := s.ListAccounts(ctx, directory.AccountQuery{Search: "P1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 10 { // p10..p19, matched case-insensitively
		t.Errorf("search p1: %d results, want 10", len(found))
	}
}

// A person searching the directory filters by year, registration group and
// status, and pages through a list ordered by name with Offset.
func testListFiltersAndPages(t *testing.T, s directory.Store) {
	ctx := context.Background()
	families := []string{"Young", "adams", "Moss", "Baker", "zane", "Ng"}
	for i, fam := range families {
		a := pupil(fmt.Sprintf("f%02d", i), fmt.Sprintf("F%02d", i))
		a.FamilyName = fam
		if i%2 == 1 {
			a.YearGroup, a.RegGroup = "8", "8b"
		}
		mustCreate(t, s, a)
	}
	left := pupil("f99", "F99")
	left.FamilyName, left.YearGroup, left.RegGroup = "Cole", "8", "8B"
	left = mustCreate(t, s, left)
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateAccount(ctx, left.ID, func(a *directory.Account) error {
			a.Status, a.DisabledAt, a.DisableReason = directory.StatusDisabled, time.Now(), "left"
			return nil
		})
		return err
	})
	names := func(as []directory.Account) string {
		var n []string
		for _, a := range as {
			n = append(n, a.FamilyName)
		}
		return strings.Join(n, ",")
	}
	cases := []struct {
		q    directory.AccountQuery
		want string
	}{
		{directory.AccountQuery{YearGroup: "8", ByName: true}, "adams,Baker,Cole,Ng"},
		{directory.AccountQuery{RegGroup: "8B", Status: directory.StatusActive, ByName: true}, "adams,Baker,Ng"},
		{directory.AccountQuery{YearGroup: "7", ByName: true}, "Moss,Young,zane"},
		{directory.AccountQuery{ByName: true, Limit: 3}, "adams,Baker,Cole"},
		{directory.AccountQuery{ByName: true, Limit: 3, Offset: 3}, "Moss,Ng,Young"},
		{directory.AccountQuery{ByName: true, Limit: 3, Offset: 6}, "zane"},
		{directory.AccountQuery{ByName: true, Offset: 5}, "Young,zane"},
		{directory.AccountQuery{Search: "f0", YearGroup: "8", Status: directory.StatusActive, Limit: 2, ByName: true}, "adams,Baker"},
	}
	for _, c := range cases {
		got, err := s.ListAccounts(ctx, c.q)
		if err != nil {
			t.Fatalf("%+v: %v", c.q, err)
		}
		if names(got) != c.want {
			t.Errorf("%+v: got %s, want %s", c.q, names(got), c.want)
		}
		q := c.q
		q.Limit, q.Offset = 0, 0
		n, err := s.CountAccounts(ctx, q)
		all, _ := s.ListAccounts(ctx, q)
		if err != nil || n != len(all) {
			t.Errorf("%+v: count %d (%v), listed %d", q, n, err, len(all))
		}
	}
}

func testPosixIDsNeverReused(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("first", "A"))
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, a.ID) })
	b := mustCreate(t, s, pupil("second", "B"))
	if b.UIDNumber <= a.UIDNumber {
		t.Errorf("uidNumber %d reused or went back after %d was purged", b.UIDNumber, a.UIDNumber)
	}
	// An id given by hand moves the counter past it.
	c := pupil("third", "C")
	c.UIDNumber = b.UIDNumber + 50
	c = mustCreate(t, s, c)
	d := mustCreate(t, s, pupil("fourth", "D"))
	if d.UIDNumber <= c.UIDNumber {
		t.Errorf("uidNumber %d handed out at or below the manual %d", d.UIDNumber, c.UIDNumber)
	}
	g1 := directory.Group{Name: "g1", Kind: directory.GroupCustom}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.CreateGroup(ctx, &g1) })
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteGroup(ctx, g1.ID) })
	g2 := directory.Group{Name: "g2", Kind: directory.GroupCustom}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.CreateGroup(ctx, &g2) })
	if g2.GIDNumber <= g1.GIDNumber {
		t.Errorf("gidNumber %d reused after %d was deleted", g2.GIDNumber, g1.GIDNumber)
	}
	// People and groups draw from ranges that cannot meet; a person's
	// primary gid is their own group's, their uid.
	for _, p := range []directory.Account{b, c, d} {
		if p.GIDNumber != p.UIDNumber || directory.ValidUIDNumber(p.UIDNumber) != nil {
			t.Errorf("%s: uid %d gid %d; want gid = uid below %d", p.Username, p.UIDNumber, p.GIDNumber, directory.FirstGroupGID)
		}
	}
	if directory.ValidGroupGID(g1.GIDNumber) != nil || directory.ValidGroupGID(g2.GIDNumber) != nil {
		t.Errorf("group gids %d, %d in the people's range", g1.GIDNumber, g2.GIDNumber)
	}
	for _, bad := range []func(ctx context.Context, tx directory.Tx) error{
		func(ctx context.Context, tx directory.Tx) error {
			return tx.CreateGroup(ctx, &directory.Group{Name: "lowgid", Kind: directory.GroupCustom, GIDNumber: d.UIDNumber + 1})
		},
		func(ctx context.Context, tx directory.Tx) error {
			return tx.CreateAccount(ctx, &directory.Account{Username: "highuid", Role: directory.RoleStaff, UIDNumber: directory.FirstGroupGID + 5})
		},
	} {
		if err := s.Update(ctx, bad); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("an id in the other range: %v, want ErrInvalid", err)
		}
	}
	if _, err := s.AccountByUID(ctx, a.UIDNumber); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("purged uid still resolves: %v", err)
	}
}

func testUsernameTakenAfterPurge(t *testing.T, s directory.Store) {
	ctx := context.Background()
	before := time.Now().Add(-time.Hour)
	a := mustCreate(t, s, pupil("gone", "G"))
	taken, err := s.UsernameTaken(ctx, "gone", before)
	if err != nil || !taken {
		t.Fatalf("live username: taken=%v err=%v", taken, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, a.ID) })
	if taken, _ := s.UsernameTaken(ctx, "gone", before); !taken {
		t.Error("a username purged within the retention period is free again")
	}
	if taken, _ := s.UsernameTaken(ctx, "gone", time.Now().Add(time.Hour)); taken {
		t.Error("a username purged before the retention period is still held")
	}
	if taken, _ := s.UsernameTaken(ctx, "never", before); taken {
		t.Error("an unknown username is taken")
	}
	b := mustCreate(t, s, pupil("also", "A"))
	mustCreate(t, s, pupil("kept", "K"))
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, b.ID) })
	if got, err := s.PurgedUsernames(ctx, before); err != nil || fmt.Sprint(got) != "[also gone]" {
		t.Errorf("purged usernames within the period: %v %v", got, err)
	}
	if got, err := s.PurgedUsernames(ctx, time.Now().Add(time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("purged usernames after the period: %v %v", got, err)
	}
}

func testUnaudited(t *testing.T, s directory.Store) {
	ctx := context.Background()
	err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a := pupil("sneaky", "S")
		return tx.CreateAccount(ctx, &a)
	})
	if !errors.Is(err, directory.ErrUnaudited) {
		t.Fatalf("write without audit event: err = %v, want ErrUnaudited", err)
	}
	if _, err := s.AccountByUsername(ctx, "sneaky"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("unaudited change was committed: %v", err)
	}
	// A read-only transaction needs no event.
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.ListAccounts(ctx, directory.AccountQuery{})
		return err
	}); err != nil {
		t.Errorf("read-only transaction: %v", err)
	}
}

func testErrorRollsBack(t *testing.T, s directory.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a := pupil("halfway", "H")
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if err := tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionAccountCreate, Target: "account:halfway"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if _, err := s.AccountByUsername(ctx, "halfway"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("account of a failed transaction exists: %v", err)
	}
	if seq, _, _ := s.AuditHead(ctx); seq != 0 {
		t.Errorf("audit event of a failed transaction kept: head %d", seq)
	}
}

func testGroups(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("amy", "1"))
	b := mustCreate(t, s, pupil("ben", "2"))
	y7 := directory.Group{Name: "year-7", Kind: directory.GroupYear, Source: directory.SourceMIS, Description: "Year 7"}
	r7 := directory.Group{Name: "7a", Kind: directory.GroupReg, Source: directory.SourceMIS}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		for _, g := range []*directory.Group{&y7, &r7} {
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
		}
		for _, m := range [][2]int64{{y7.ID, a.ID}, {y7.ID, b.ID}, {r7.ID, a.ID}, {y7.ID, a.ID}} {
			if err := tx.AddMember(ctx, m[0], m[1]); err != nil {
				return err
			}
		}
		return nil
	})
	members, err := s.Members(ctx, y7.ID)
	if err != nil || fmt.Sprint(members) != "[amy ben]" {
		t.Errorf("members of year-7 = %v, %v", members, err)
	}
	gs, err := s.GroupsOf(ctx, a.ID)
	if err != nil || len(gs) != 2 || gs[0].Name != "7a" || gs[1].Name != "year-7" {
		t.Errorf("groups of amy = %+v, %v", gs, err)
	}
	if g, err := s.GroupByGID(ctx, y7.GIDNumber); err != nil || g.ID != y7.ID {
		t.Errorf("by gid: %+v %v", g, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if _, err := tx.UpdateGroup(ctx, y7.ID, func(g *directory.Group) error { g.Description = "Year Seven"; return nil }); err != nil {
			return err
		}
		return tx.RemoveMember(ctx, y7.ID, b.ID)
	})
	if g, _ := s.GroupByName(ctx, "year-7"); g.Description != "Year Seven" || g.GIDNumber != y7.GIDNumber {
		t.Errorf("after update: %+v", g)
	}
	if m, _ := s.Members(ctx, y7.ID); fmt.Sprint(m) != "[amy]" {
		t.Errorf("after removing ben: %v", m)
	}
	list, err := s.ListGroups(ctx, directory.GroupQuery{Kind: directory.GroupReg})
	if err != nil || len(list) != 1 || list[0].Name != "7a" {
		t.Errorf("list reg groups: %+v %v", list, err)
	}
	// Purging an account removes its memberships.
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, a.ID) })
	if m, _ := s.Members(ctx, r7.ID); len(m) != 0 {
		t.Errorf("purged account still a member: %v", m)
	}
}

func testCredentials(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("cred", "C"))
	first := directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: "$argon2id$old"}
	second := directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: "$argon2id$new"}
	wifi := directory.Credential{AccountID: a.ID, Kind: directory.CredWiFi, Secret: "ks1:k1:sealed", KeyID: "k1",
		ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Microsecond)}
	revokedAt := time.Now().Truncate(time.Microsecond)
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddCredential(ctx, &first); err != nil {
			return err
		}
		if _, err := tx.UpdateCredential(ctx, first.ID, func(c *directory.Credential) error { c.RevokedAt = revokedAt; return nil }); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &second); err != nil {
			return err
		}
		return tx.AddCredential(ctx, &wifi)
	})
	pw, err := s.Credentials(ctx, a.ID, directory.CredPassword)
	if err != nil || len(pw) != 2 {
		t.Fatalf("passwords: %v %v", pw, err)
	}
	if pw[0].Secret != "$argon2id$new" || pw[1].Secret != "$argon2id$old" || !pw[1].RevokedAt.Equal(revokedAt) {
		t.Errorf("newest first, revocation kept: %+v", pw)
	}
	if pw[1].Live(time.Now().Add(time.Second)) || !pw[0].Live(time.Now()) {
		t.Error("Live disagrees with revocation")
	}
	w, _ := s.Credentials(ctx, a.ID, directory.CredWiFi)
	if len(w) != 1 || w[0].KeyID != "k1" || !w[0].ExpiresAt.Equal(wifi.ExpiresAt) {
		t.Errorf("wifi: %+v", w)
	}
}

func testAUP(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("signer", "S1"))
	v1 := directory.AUPDocument{Audience: "pupil", Version: "2025.1", Text: "Be kind online.", Digest: "d1"}
	resign := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	v2 := directory.AUPDocument{Audience: "pupil", Version: "2026.1", Text: "Be kind online, always.", Digest: "d2", ResignFrom: resign}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddAUPDocument(ctx, &v1); err != nil {
			return err
		}
		return tx.AddAUPDocument(ctx, &v2)
	})
	dup := directory.AUPDocument{Audience: "pupil", Version: "2025.1", Text: "x", Digest: "x"}
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error { return tx.AddAUPDocument(ctx, &dup) }); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("same audience and version twice: %v", err)
	}
	signedAt := time.Date(2025, 9, 5, 10, 0, 0, 0, time.UTC)
	form := time.Date(2025, 9, 4, 0, 0, 0, 0, time.UTC)
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: v1.ID, Digest: "d1", SignedAt: signedAt,
			Method: directory.SignPaper, FormDate: form, Witness: "Mrs Patel", RecordedBy: "tech"}); err != nil {
			return err
		}
		c := directory.Consent{AccountID: a.ID, ParentName: "Siân ap Rhys", Relationship: "mother", GivenAt: signedAt, Method: directory.SignPaper}
		if err := tx.AddConsent(ctx, &c); err != nil {
			return err
		}
		_, err := tx.UpdateConsent(ctx, c.ID, func(c *directory.Consent) error { c.WithdrawnAt = resign; return nil })
		return err
	})
	docs, err := s.AUPDocuments(ctx)
	if err != nil || len(docs) != 2 || !docs[1].ResignFrom.Equal(resign) {
		t.Fatalf("documents: %+v %v", docs, err)
	}
	if d, err := s.AUPDocument(ctx, v2.ID); err != nil || d.Text != v2.Text {
		t.Errorf("document by id: %+v %v", d, err)
	}
	sigs, _ := s.Signatures(ctx, a.ID)
	if len(sigs) != 1 || sigs[0].Witness != "Mrs Patel" || !sigs[0].FormDate.Equal(form) || sigs[0].Method != directory.SignPaper {
		t.Errorf("signatures: %+v", sigs)
	}
	cs, _ := s.Consents(ctx, a.ID)
	if len(cs) != 1 || cs[0].ParentName != "Siân ap Rhys" || !cs[0].WithdrawnAt.Equal(resign) {
		t.Errorf("consents: %+v", cs)
	}

	// A page of accounts' signatures in one read, by account then time.
	b := mustCreate(t, s, pupil("signer2", "S2"))
	c := mustCreate(t, s, pupil("signer3", "S3"))
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		for _, x := range []directory.Signature{
			{AccountID: c.ID, DocumentID: v2.ID, Digest: "d2", SignedAt: resign.Add(time.Hour), Method: directory.SignPortal},
			{AccountID: b.ID, DocumentID: v2.ID, Digest: "d2", SignedAt: resign.Add(2 * time.Hour), Method: directory.SignPortal},
			{AccountID: b.ID, DocumentID: v1.ID, Digest: "d1", SignedAt: signedAt, Method: directory.SignPortal},
		} {
			if err := tx.AddSignature(ctx, &x); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "test", Action: "aup.sign", Target: "account:signer2"})
	})
	page, err := s.SignaturesBetween(ctx, a.ID, b.ID)
	if err != nil || len(page) != 2 || page[0].AccountID != b.ID || page[0].DocumentID != v1.ID || page[1].DocumentID != v2.ID {
		t.Errorf("signatures of the accounts after %d up to %d: %+v %v", a.ID, b.ID, page, err)
	}
	page, _ = s.SignaturesBetween(ctx, a.ID-1, c.ID)
	var owners []int64
	for _, x := range page {
		owners = append(owners, x.AccountID)
	}
	if !slices.Equal(owners, []int64{a.ID, b.ID, b.ID, c.ID}) {
		t.Errorf("signatures of three accounts belong to %v, want %v", owners, []int64{a.ID, b.ID, b.ID, c.ID})
	}
}

func testSuspensions(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("susp", "X"))
	from := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	until := from.Add(7 * 24 * time.Hour)
	x := directory.Suspension{AccountID: a.ID, From: from, Until: until, Reason: "misuse of chat", IncidentRef: "INC-7", CreatedBy: "dsl"}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.AddSuspension(ctx, &x) })
	lifted := from.Add(48 * time.Hour)
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateSuspension(ctx, x.ID, func(s *directory.Suspension) error { s.LiftedAt, s.LiftedBy = lifted, "head"; return nil })
		return err
	})
	got, err := s.Suspensions(ctx, a.ID)
	if err != nil || len(got) != 1 {
		t.Fatalf("suspensions: %v %v", got, err)
	}
	g := got[0]
	if g.Reason != "misuse of chat" || g.IncidentRef != "INC-7" || !g.Until.Equal(until) || !g.LiftedAt.Equal(lifted) || g.LiftedBy != "head" {
		t.Errorf("round trip: %+v", g)
	}
	if !g.ActiveAt(from.Add(time.Hour)) || g.ActiveAt(lifted) || g.ActiveAt(from.Add(-time.Second)) {
		t.Error("ActiveAt disagrees with from, until and lifted")
	}
}

func testUpcomingSuspensions(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("soon", "U1"))
	b := mustCreate(t, s, pupil("later", "U2"))
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	add := func(acct int64, from time.Time, lifted bool) directory.Suspension {
		x := directory.Suspension{AccountID: acct, From: from, Reason: "r", CreatedBy: "dsl"}
		if lifted {
			x.LiftedAt, x.LiftedBy = now, "head"
		}
		update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.AddSuspension(ctx, &x) })
		return x
	}
	add(a.ID, now.Add(-time.Hour), false) // started already
	late := add(b.ID, now.Add(48*time.Hour), false)
	add(a.ID, now.Add(2*time.Hour), true) // lifted before it began
	soon := add(a.ID, now.Add(time.Hour), false)
	got, err := s.UpcomingSuspensions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != soon.ID || got[1].ID != late.ID || got[0].AccountID != a.ID || !got[0].From.Equal(soon.From) {
		t.Fatalf("upcoming = %+v, want %d then %d", got, soon.ID, late.ID)
	}
	if got, err := s.UpcomingSuspensions(ctx, late.From); err != nil || len(got) != 0 {
		t.Errorf("after the last start: %+v %v", got, err)
	}
}

func testNAS(t *testing.T, s directory.Store) {
	ctx := context.Background()
	n := directory.NASClient{Name: "core-wlc", Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("192.0.2.7/32")},
		Secret: "sealed", KeyID: "k1", Vendor: "aruba"}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.PutNASClient(ctx, &n) })
	if list, _ := s.NASClients(ctx); len(list) != 1 || list[0].CoAPort != 0 || list[0].School != "" {
		t.Errorf("CoA port and school unset: %+v", list)
	}
	n2 := n
	n2.Vendor = "cisco"
	n2.CoAPort = 1700
	n2.School = "north"
	n2.Addresses = []netip.Prefix{netip.MustParsePrefix("2001:db8::/64")}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.PutNASClient(ctx, &n2) })
	list, err := s.NASClients(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("NAS clients: %+v %v", list, err)
	}
	if list[0].Vendor != "cisco" || list[0].CoAPort != 1700 || list[0].School != "north" || directory.FormatPrefixes(list[0].Addresses) != "2001:db8::/64" {
		t.Errorf("replace by name: %+v", list[0])
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteNASClient(ctx, list[0].ID) })
	if list, _ := s.NASClients(ctx); len(list) != 0 {
		t.Errorf("after delete: %+v", list)
	}
}

func testSyncRuns(t *testing.T, s directory.Store) {
	ctx := context.Background()
	start := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		r := directory.SyncRun{Kind: "sync", Source: "oneroster:/x", StartedAt: start.Add(time.Duration(i) * time.Hour),
			FinishedAt: start.Add(time.Duration(i)*time.Hour + time.Minute), Applied: i > 0,
			Counts: map[string]int{"starters": i}, Rows: 100 + i, Watermark: fmt.Sprint(i), Actor: "sync"}
		update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.AddSyncRun(ctx, &r) })
	}
	runs, err := s.SyncRuns(ctx, "sync", 2)
	if err != nil || len(runs) != 2 {
		t.Fatalf("sync runs: %+v %v", runs, err)
	}
	if runs[0].Counts["starters"] != 2 || runs[0].Rows != 102 || !runs[0].Applied || runs[0].Watermark != "2" || runs[1].Counts["starters"] != 1 {
		t.Errorf("newest first with counts: %+v", runs)
	}
	if other, _ := s.SyncRuns(ctx, "leavers", 0); len(other) != 0 {
		t.Errorf("runs of another kind: %+v", other)
	}
	r := directory.SyncRun{Kind: "leavers", StartedAt: start, Actor: "job:leavers"}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.AddSyncRun(ctx, &r) })
	all, err := s.SyncRuns(ctx, "", 0)
	if err != nil || len(all) != 4 || all[0].Kind != "leavers" || all[1].Kind != "sync" {
		t.Errorf("every kind, newest first: %+v %v", all, err)
	}
}

func testSyncRefusals(t *testing.T, s directory.Store) {
	ctx := context.Background()
	if q, err := s.SyncRefusals(ctx); err != nil || len(q) != 0 {
		t.Fatalf("empty queue: %+v %v", q, err)
	}
	first := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
	last := first.Add(24 * time.Hour)
	want := []directory.SyncRefusal{
		{MISID: "", Source: "csv:/x.csv", File: "x.csv", Line: 9, Reason: "no MIS id", FirstSeen: last, LastSeen: last},
		{MISID: "P1", Source: "csv:/x.csv", File: "x.csv", Line: 4, Reason: "leave date 31/13/2026 is not a date", FirstSeen: first, LastSeen: last},
		{MISID: "P1", Source: "csv:/x.csv", File: "x.csv", Line: 7, Reason: "duplicate MIS id", FirstSeen: first, LastSeen: last},
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.ReplaceSyncRefusals(ctx, want) })
	got, err := s.SyncRefusals(ctx)
	if err != nil || len(got) != len(want) {
		t.Fatalf("queue: %+v %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("refusal %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.ReplaceSyncRefusals(ctx, want[2:]) })
	if got, _ := s.SyncRefusals(ctx); len(got) != 1 || got[0].Line != 7 {
		t.Errorf("after a later export fixed two rows: %+v", got)
	}
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error { return tx.ReplaceSyncRefusals(ctx, nil) }); !errors.Is(err, directory.ErrUnaudited) {
		t.Errorf("unaudited replace: %v", err)
	}
	if got, _ := s.SyncRefusals(ctx); len(got) != 1 {
		t.Errorf("an unaudited replace rolled back: %+v", got)
	}
}

func testMissingRuns(t *testing.T, s directory.Store) {
	ctx := context.Background()
	if m, err := s.MissingRuns(ctx); err != nil || len(m) != 0 {
		t.Fatalf("none yet: %v %v", m, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		return tx.ReplaceMissingRuns(ctx, map[string]int{"P1": 1, "P2": 3, "P3": 0})
	})
	m, err := s.MissingRuns(ctx)
	if err != nil || len(m) != 2 || m["P1"] != 1 || m["P2"] != 3 {
		t.Fatalf("counts: %v %v", m, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		return tx.ReplaceMissingRuns(ctx, map[string]int{"P2": 4})
	})
	if m, _ := s.MissingRuns(ctx); len(m) != 1 || m["P2"] != 4 {
		t.Errorf("replaced: %v", m)
	}
}

func testAuditChain(t *testing.T, s directory.Store) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		a := pupil(fmt.Sprintf("chain%d", i), fmt.Sprintf("CH%d", i))
		if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "cli:tech", Action: audit.ActionAccountCreate, Target: audit.AccountTarget(a.Username),
				After: audit.Snapshot(map[string]string{"username": a.Username, "name": "Zoë"})})
		}); err != nil {
			t.Fatal(err)
		}
	}
	events, err := s.AuditEvents(ctx, 0, 0)
	if err != nil || len(events) != 5 {
		t.Fatalf("events: %d %v", len(events), err)
	}
	v := audit.NewVerifier(0, "")
	for _, e := range events {
		if err := v.Next(e); err != nil {
			t.Fatalf("stored chain does not verify: %v", err)
		}
	}
	seq, hash, err := s.AuditHead(ctx)
	if err != nil || seq != 5 || hash != events[4].Hash {
		t.Errorf("head = %d %s %v", seq, hash, err)
	}
	if later, _ := s.AuditEvents(ctx, 3, 10); len(later) != 2 || later[0].Seq != 4 {
		t.Errorf("events after 3: %+v", later)
	}
	if string(events[0].After) == "" || events[0].Actor != "cli:tech" {
		t.Errorf("event fields lost: %+v", events[0])
	}
}

func testConcurrentWriters(t *testing.T, s directory.Store) {
	ctx := context.Background()
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				a := pupil(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("W%d-%d", w, i))
				errs <- s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
					if err := tx.CreateAccount(ctx, &a); err != nil {
						return err
					}
					return tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionAccountCreate, Target: a.Username})
				})
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent update: %v", err)
		}
	}
	events, err := s.AuditEvents(ctx, 0, 1000)
	if err != nil || len(events) != writers*each {
		t.Fatalf("%d events, %v; want %d", len(events), err, writers*each)
	}
	v := audit.NewVerifier(0, "")
	for _, e := range events {
		if err := v.Next(e); err != nil {
			t.Fatalf("chain forked under concurrent writers: %v", err)
		}
	}
}

func testUsageAndFailures(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("user", "U"))
	t0 := time.Date(2026, 1, 5, 8, 30, 0, 0, time.UTC)
	for _, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(30 * time.Minute)} {
		if err := s.NoteUse(ctx, a.ID, directory.ServiceWiFi, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.NoteUse(ctx, a.ID, directory.ServiceLDAP, t0); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastUse(ctx, a.ID)
	if err != nil || !last[directory.ServiceWiFi].Equal(t0.Add(time.Hour)) || !last[directory.ServiceLDAP].Equal(t0) {
		t.Errorf("last use = %v %v (an older use must not overwrite a newer one)", last, err)
	}
	w := 15 * time.Minute
	for i := 1; i <= 3; i++ {
		n, err := s.NoteFailure(ctx, "account:user", t0.Add(time.Duration(i)*time.Minute), w, "")
		if err != nil || n != i {
			t.Fatalf("failure %d counted as %d, %v", i, n, err)
		}
	}
	n, lastFail, err := s.Failures(ctx, "account:user", t0.Add(5*time.Minute), w)
	if err != nil || n != 3 || !lastFail.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("failures = %d at %v, %v", n, lastFail, err)
	}
	if n, _, _ := s.Failures(ctx, "account:user", t0.Add(time.Hour), w); n != 0 {
		t.Errorf("failures outside the window still count: %d", n)
	}
	if n, _ := s.NoteFailure(ctx, "account:user", t0.Add(time.Hour), w, ""); n != 1 {
		t.Errorf("a failure after the window restarts the count: %d", n)
	}
	if err := s.ClearFailures(ctx, "account:user"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.Failures(ctx, "account:user", t0.Add(time.Hour), w); n != 0 {
		t.Errorf("after clear: %d", n)
	}
}

func testFailureFingerprints(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 5, 8, 30, 0, 0, time.UTC)
	w := 15 * time.Minute
	key := directory.AccountKey("stale")
	for i, fp := range []string{"aa", "aa", "bb", "aa", "", ""} {
		if _, err := s.NoteFailure(ctx, key, t0.Add(time.Duration(i)*time.Second), w, fp); err != nil {
			t.Fatal(err)
		}
	}
	// aa once, bb once, and each failure without a fingerprint.
	if n, _, err := s.Failures(ctx, key, t0.Add(time.Minute), w); err != nil || n != 4 {
		t.Errorf("failures = %d, %v; want 4 (a password tried again counts once)", n, err)
	}
	if n, _ := s.NoteFailure(ctx, directory.AccountKey("other"), t0, w, "aa"); n != 1 {
		t.Errorf("a fingerprint counted under another key = %d, want 1", n)
	}
	// Once the window has passed, the same password is a new failure.
	if n, err := s.NoteFailure(ctx, key, t0.Add(time.Hour), w, "aa"); err != nil || n != 1 {
		t.Errorf("after the window = %d, %v; want 1", n, err)
	}
	if err := s.ClearFailures(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.NoteFailure(ctx, key, t0.Add(time.Hour+time.Second), w, "aa"); n != 1 {
		t.Errorf("after clear, the fingerprint was still known: %d", n)
	}
}

func testPruneFailures(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 5, 8, 30, 0, 0, time.UTC)
	w := 15 * time.Minute
	for i := range 5 {
		if _, err := s.NoteFailure(ctx, directory.SourceKey(fmt.Sprintf("radius:%d", i)), t0.Add(time.Duration(i)*time.Minute), w, "f"); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneFailures(ctx, t0.Add(3*time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3", n, err)
	}
	if c, _, _ := s.Failures(ctx, directory.SourceKey("radius:4"), t0.Add(5*time.Minute), w); c != 1 {
		t.Errorf("a recent counter went: %d", c)
	}
	// The fingerprint of a pruned counter went with it.
	if c, _ := s.NoteFailure(ctx, directory.SourceKey("radius:0"), t0.Add(4*time.Minute), time.Hour, "f"); c != 1 {
		t.Errorf("pruned counter = %d, want 1", c)
	}
}

func testFamiliarSources(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("known", "KN"))
	b := mustCreate(t, s, pupil("other", "OT"))
	t0 := time.Date(2026, 1, 5, 8, 30, 0, 0, time.UTC)
	if seen, err := s.Familiar(ctx, a.ID, "ldap:192.0.2.7"); err != nil || !seen.IsZero() {
		t.Fatalf("never signed in: %v %v", seen, err)
	}
	for i := range 5 {
		if err := s.NoteFamiliar(ctx, a.ID, fmt.Sprintf("radius:phone-%d@ap", i), t0.Add(time.Duration(i)*time.Minute), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.NoteFamiliar(ctx, a.ID, "radius:phone-4@ap", t0, 3); err != nil { // older: ignored
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true, true, true} {
		seen, err := s.Familiar(ctx, a.ID, fmt.Sprintf("radius:phone-%d@ap", i))
		if err != nil || seen.IsZero() != !want {
			t.Errorf("phone-%d familiar = %v, %v; want %v (only the 3 most recent are kept)", i, seen, err, want)
		}
	}
	if seen, _ := s.Familiar(ctx, a.ID, "radius:phone-4@ap"); !seen.Equal(t0.Add(4 * time.Minute)) {
		t.Errorf("last sign-in went back to %v", seen)
	}
	if seen, _ := s.Familiar(ctx, b.ID, "radius:phone-4@ap"); !seen.IsZero() {
		t.Errorf("a source familiar to one account is familiar to another")
	}
}

// testLockoutAcrossNodes: guesses spread over several nodes count together,
// so that they do not multiply with the number of nodes.
func testLockoutAcrossNodes(t *testing.T, nodes Nodes) {
	ctx := context.Background()
	open := nodes(t)
	sa := mustOpen(t, open)
	sb, err := open()
	if errors.Is(err, directory.ErrLocked) {
		t.Skipf("the backend allows one open store per database: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	acct := mustCreate(t, sa, pupil("shared", "SH"))
	la := &directory.Lockout{Store: sa, UnfamiliarThreshold: 4, SourceThreshold: 100}
	lb := &directory.Lockout{Store: sb, UnfamiliarThreshold: 4, SourceThreshold: 100}
	at := time.Date(2026, 1, 5, 8, 30, 0, 0, time.UTC)
	for i := range 4 {
		l := la
		if i%2 == 1 {
			l = lb
		}
		att, err := l.Begin(ctx, acct, "", directory.Origin{ID: fmt.Sprintf("radius:%d@ap", i)}, at)
		if err != nil || att.Locked() {
			t.Fatalf("attempt %d: %+v %v", i, att, err)
		}
		if err := att.Fail(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []*directory.Lockout{la, lb} {
		att, err := l.Begin(ctx, acct, "", directory.Origin{ID: "radius:new@ap"}, at.Add(time.Second))
		if err != nil || att.Lock.Scope != directory.ScopeNewDevices {
			t.Errorf("after 4 failures on two nodes, a new source: %+v %v; want locked for new devices", att, err)
		}
	}
}

func testSessions(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("roamer", "R"))
	t0 := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	x := directory.Session{AccountID: a.ID, Username: "roamer", NASName: "ap1", NASAddress: "192.0.2.10", SessionID: "S1",
		CallingStation: "AA-BB-CC-DD-EE-FF", CalledStation: "11-22-33-44-55-66:School", StartedAt: t0, UpdatedAt: t0}
	if err := s.PutSession(ctx, &x); err != nil {
		t.Fatal(err)
	}
	x.UpdatedAt, x.InputBytes, x.OutputBytes, x.FramedIP = t0.Add(10*time.Minute), 1000, 2000, "10.1.2.3"
	if err := s.PutSession(ctx, &x); err != nil {
		t.Fatal(err)
	}
	live, err := s.Sessions(ctx, a.ID, t0.Add(-time.Hour), true)
	if err != nil || len(live) != 1 || live[0].InputBytes != 1000 || live[0].FramedIP != "10.1.2.3" {
		t.Fatalf("live sessions: %+v %v", live, err)
	}
	stop := directory.Session{AccountID: a.ID, Username: "roamer", NASAddress: "192.0.2.10", SessionID: "S1", StartedAt: t0,
		UpdatedAt: t0.Add(time.Hour), StoppedAt: t0.Add(time.Hour), InputBytes: 5000, OutputBytes: 9000, TerminateCause: "User-Request"}
	if err := s.PutSession(ctx, &stop); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.Sessions(ctx, a.ID, t0.Add(-time.Hour), true); len(live) != 0 {
		t.Errorf("stopped session still live: %+v", live)
	}
	all, _ := s.Sessions(ctx, a.ID, t0.Add(-time.Hour), false)
	if len(all) != 1 || all[0].OutputBytes != 9000 || all[0].TerminateCause != "User-Request" || all[0].CallingStation != "AA-BB-CC-DD-EE-FF" {
		t.Errorf("after stop: %+v", all)
	}
	if n, err := s.PurgeSessions(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("purge = %d %v", n, err)
	}
}

func testGateOnStore(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("gated", "GT"))
	doc := directory.AUPDocument{Audience: "pupil", Version: "1", Text: "t", Digest: "d", PublishedAt: time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.AddAUPDocument(ctx, &doc) })
	g := &directory.Gate{Store: s}
	at := time.Date(2025, 10, 1, 9, 0, 0, 0, time.UTC)
	d, err := g.Check(ctx, a, directory.ServiceLDAP, at)
	if err != nil || d.Allow || d.Reason != directory.ReasonAUPUnsigned {
		t.Fatalf("unsigned: %+v %v", d, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: doc.ID, Digest: "d", SignedAt: at.Add(-time.Hour), Method: directory.SignPortal}); err != nil {
			return err
		}
		return tx.AddConsent(ctx, &directory.Consent{AccountID: a.ID, ParentName: "P", GivenAt: at.Add(-time.Hour), Method: directory.SignPaper})
	})
	if d, _ := g.Check(ctx, a, directory.ServiceLDAP, at); !d.Allow {
		t.Fatalf("signed and consented: %+v", d)
	}
	if d, _ := g.Check(ctx, a, directory.ServiceWiFi, at); d.Reason != directory.ReasonNoCredential {
		t.Errorf("wifi without a credential: %+v", d)
	}
}

func testCloseNASSessions(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("rebooted", "RB"))
	t0 := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
	put := func(nas, id string, stopped time.Time) {
		t.Helper()
		x := directory.Session{AccountID: a.ID, Username: "rebooted", NASAddress: nas, SessionID: id, StartedAt: t0, UpdatedAt: t0, StoppedAt: stopped}
		if err := s.PutSession(ctx, &x); err != nil {
			t.Fatal(err)
		}
	}
	put("192.0.2.1", "A", time.Time{})
	put("192.0.2.1", "B", time.Time{})
	put("192.0.2.1", "C", t0.Add(time.Minute))
	put("192.0.2.2", "D", time.Time{})
	at := t0.Add(time.Hour)
	n, err := s.CloseNASSessions(ctx, "192.0.2.1", at, "NAS-Reboot")
	if err != nil || n != 2 {
		t.Fatalf("close = %d %v, want 2", n, err)
	}
	live, _ := s.Sessions(ctx, a.ID, time.Time{}, true)
	if len(live) != 1 || live[0].SessionID != "D" {
		t.Errorf("live after close: %+v", live)
	}
	all, _ := s.Sessions(ctx, a.ID, time.Time{}, false)
	for _, x := range all {
		switch x.SessionID {
		case "A", "B":
			if !x.StoppedAt.Equal(at) || x.TerminateCause != "NAS-Reboot" {
				t.Errorf("closed session %s: %+v", x.SessionID, x)
			}
		case "C":
			if !x.StoppedAt.Equal(t0.Add(time.Minute)) || x.TerminateCause == "NAS-Reboot" {
				t.Errorf("already stopped session changed: %+v", x)
			}
		}
	}
	if n, _ := s.CloseNASSessions(ctx, "192.0.2.1", at, "NAS-Reboot"); n != 0 {
		t.Errorf("second close = %d, want 0", n)
	}
}

func testNoteUses(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("user1", "U1"))
	b := mustCreate(t, s, pupil("user2", "U2"))
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	if err := s.NoteUse(ctx, b.ID, directory.ServiceWiFi, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// 999999 does not exist: skipped, not an error.
	err := s.NoteUses(ctx, directory.ServiceWiFi, map[int64]time.Time{a.ID: t0, b.ID: t0, 999999: t0})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := s.LastUse(ctx, a.ID); !u[directory.ServiceWiFi].Equal(t0) {
		t.Errorf("a: %v", u)
	}
	if u, _ := s.LastUse(ctx, b.ID); !u[directory.ServiceWiFi].Equal(t0.Add(time.Hour)) {
		t.Errorf("b went back in time: %v", u)
	}
	if err := s.NoteUses(ctx, directory.ServiceWiFi, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func testDormant(t *testing.T, s directory.Store) {
	ctx := context.Background()
	// The store stamps created_at with the real clock, so the cut-off lies
	// ahead of it: every account here is old enough to be dormant.
	cut := time.Now().Add(time.Hour).Truncate(time.Microsecond).UTC()
	old := mustCreate(t, s, pupil("old", "D1"))
	recent := mustCreate(t, s, pupil("recent", "D2"))
	never := mustCreate(t, s, pupil("never", "D3"))
	gone := mustCreate(t, s, pupil("gone", "D4"))
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateAccount(ctx, gone.ID, func(a *directory.Account) error { a.Status = directory.StatusDisabled; return nil })
		return err
	})
	lastOld := cut.Add(-48 * time.Hour)
	for _, u := range []struct {
		id  int64
		svc directory.Service
		at  time.Time
	}{
		{old.ID, directory.ServiceWiFi, lastOld.Add(-time.Hour)},
		{old.ID, directory.ServiceLDAP, lastOld},
		{recent.ID, directory.ServiceWiFi, lastOld},
		{recent.ID, directory.ServicePortal, cut}, // at the cut-off: in use
	} {
		if err := s.NoteUse(ctx, u.id, u.svc, u.at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Dormant(ctx, cut, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.AccountUse{{AccountID: old.ID, Username: "old", LastUse: lastOld}, {AccountID: never.ID, Username: "never"}}
	if len(got) != len(want) {
		t.Fatalf("dormant: got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].AccountID != want[i].AccountID || got[i].Username != want[i].Username || !got[i].LastUse.Equal(want[i].LastUse) {
			t.Errorf("dormant[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got, _ := s.Dormant(ctx, cut, 1); len(got) != 1 || got[0].AccountID != old.ID {
		t.Errorf("limit 1: %+v", got)
	}
	// Before every account was created, none is dormant.
	if got, _ := s.Dormant(ctx, time.Unix(0, 0), 0); len(got) != 0 {
		t.Errorf("accounts younger than the cut-off listed: %+v", got)
	}
}

func testDashboardCounts(t *testing.T, s directory.Store) {
	ctx := context.Background()
	given := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	consented := mustCreate(t, s, pupil("consented", "C1"))
	withdrawn := mustCreate(t, s, pupil("withdrawn", "C2"))
	mustCreate(t, s, pupil("none", "C3"))
	left := mustCreate(t, s, pupil("left", "C4"))
	mustCreate(t, s, directory.Account{Username: "teacher", Role: directory.RoleStaff, Source: directory.SourceManual})
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		for _, id := range []int64{consented.ID, withdrawn.ID} {
			if err := tx.AddConsent(ctx, &directory.Consent{AccountID: id, ParentName: "P", GivenAt: given, Method: directory.SignPaper}); err != nil {
				return err
			}
		}
		cs, err := tx.Consents(ctx, withdrawn.ID)
		if err != nil {
			return err
		}
		if _, err := tx.UpdateConsent(ctx, cs[0].ID, func(c *directory.Consent) error { c.WithdrawnAt = given.Add(time.Hour); return nil }); err != nil {
			return err
		}
		_, err = tx.UpdateAccount(ctx, left.ID, func(a *directory.Account) error { a.Status = directory.StatusDisabled; return nil })
		return err
	})
	if n, err := s.MissingConsents(ctx); err != nil || n != 2 {
		t.Errorf("missing consents: %d %v, want 2 (none and withdrawn; not the disabled one)", n, err)
	}
	got, err := s.AccountCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.AccountCount{{Role: directory.RolePupil, Status: directory.StatusActive, N: 3},
		{Role: directory.RolePupil, Status: directory.StatusDisabled, N: 1}, {Role: directory.RoleStaff, Status: directory.StatusActive, N: 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("account counts %v, want %v", got, want)
	}
}

func testRecentFailures(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	note := func(key string, n int, at time.Time) {
		for i := 0; i < n; i++ {
			if _, err := s.NoteFailure(ctx, key, at, time.Hour, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	note("account:old", 9, t0.Add(-2*time.Hour))
	note("account:few", 2, t0)
	note("account:many", 6, t0.Add(-time.Minute))
	note("source:ldap:192.0.2.9", 12, t0)
	got, err := s.RecentFailures(ctx, t0.Add(-30*time.Minute), 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range got {
		keys = append(keys, fmt.Sprintf("%s=%d", c.Key, c.Count))
	}
	if want := "[source:ldap:192.0.2.9=12 account:many=6]"; fmt.Sprint(keys) != want {
		t.Errorf("recent failures %v, want %s", keys, want)
	}
	if got[0].LastAt.IsZero() || !got[0].LastAt.Equal(t0) {
		t.Errorf("last at %v, want %v", got[0].LastAt, t0)
	}
	if got, _ := s.RecentFailures(ctx, t0.Add(-30*time.Minute), 5, 1); len(got) != 1 {
		t.Errorf("limit 1: %v", got)
	}
}

func testNASHeard(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	if err := s.NoteNASHeard(ctx, map[string]time.Time{"ap-hall": t0, "ap-library": t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Another node that heard the hall earlier does not move it back.
	if err := s.NoteNASHeard(ctx, map[string]time.Time{"ap-hall": t0.Add(-time.Hour), "ap-library": t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.NASHeard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["ap-hall"].Equal(t0) || !got["ap-library"].Equal(t0.Add(2*time.Minute)) {
		t.Errorf("NAS heard: %v", got)
	}
	if err := s.NoteNASHeard(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func testAuditEventsByAction(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	for i, e := range []audit.Event{
		{Time: t0.Add(-25 * time.Hour), Action: "signin.failures", Target: "account:old"},
		{Time: t0.Add(-time.Hour), Action: "signin.failures", Target: "account:a"},
		{Time: t0.Add(-time.Hour), Action: "account.create", Target: "account:b"},
		{Time: t0, Action: "signin.failures", Target: "account:c"},
	} {
		if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			e.Actor = fmt.Sprint("test", i)
			return tx.Record(ctx, &e)
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuditEventsByAction(ctx, "signin.failures", t0.Add(-24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Target != "account:a" || got[1].Target != "account:c" {
		t.Errorf("events: %+v", got)
	}
	if got, _ := s.AuditEventsByAction(ctx, "signin.failures", t0.Add(-24*time.Hour), 1); len(got) != 1 {
		t.Errorf("limit 1: %d", len(got))
	}
}

func testPortalSessions(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("browser", "B1"))
	b := mustCreate(t, s, pupil("other", "B2"))
	t0 := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	x := directory.PortalSession{ID: "h1", AccountID: a.ID, CreatedAt: t0, SeenAt: t0, ExpiresAt: t0.Add(time.Hour),
		Address: "192.0.2.7", UserAgent: "Chromium", Data: `{"challenge":"c"}`}
	if err := s.PutPortalSession(ctx, &x); err != nil {
		t.Fatal(err)
	}
	pre := directory.PortalSession{ID: "pre", CreatedAt: t0, SeenAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	if err := s.PutPortalSession(ctx, &pre); err != nil {
		t.Fatalf("a session before sign-in has no account: %v", err)
	}
	got, err := s.PortalSession(ctx, "h1", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.AccountID != a.ID || !got.ExpiresAt.Equal(x.ExpiresAt) || got.Address != "192.0.2.7" || got.UserAgent != "Chromium" ||
		got.Data != x.Data || got.Passkey || !got.CreatedAt.Equal(t0) {
		t.Errorf("round trip: %+v", got)
	}
	if got, err := s.PortalSession(ctx, "pre", t0); err != nil || got.AccountID != 0 {
		t.Errorf("pre-auth session: %+v %v", got, err)
	}
	// Replacing keeps the id and takes every other field.
	x.Passkey, x.SeenAt, x.ExpiresAt, x.Data = true, t0.Add(30*time.Minute), t0.Add(2*time.Hour), ""
	if err := s.PutPortalSession(ctx, &x); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PortalSession(ctx, "h1", t0.Add(90*time.Minute)); err != nil || !got.Passkey || got.Data != "" {
		t.Errorf("after replace: %+v %v", got, err)
	}
	if _, err := s.PortalSession(ctx, "h1", t0.Add(2*time.Hour)); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("expired session: want ErrNotFound, got %v", err)
	}
	if _, err := s.PortalSession(ctx, "nope", t0); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("unknown session: want ErrNotFound, got %v", err)
	}
	// Ending all of an account's sessions but one leaves other accounts alone.
	for _, id := range []string{"h2", "h3"} {
		if err := s.PutPortalSession(ctx, &directory.PortalSession{ID: id, AccountID: a.ID, CreatedAt: t0, SeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutPortalSession(ctx, &directory.PortalSession{ID: "b1", AccountID: b.ID, CreatedAt: t0, SeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeletePortalSessionsOf(ctx, a.ID, "h2")
	if err != nil || n != 2 {
		t.Errorf("end sessions of account: %d %v, want 2", n, err)
	}
	if _, err := s.PortalSession(ctx, "h2", t0); err != nil {
		t.Errorf("kept session gone: %v", err)
	}
	if _, err := s.PortalSession(ctx, "b1", t0); err != nil {
		t.Errorf("other account's session gone: %v", err)
	}
	if err := s.DeletePortalSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePortalSession(ctx, "h2"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.PortalSession(ctx, "h2", t0); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("after sign-out: %v", err)
	}
	n, err = s.PurgePortalSessions(ctx, t0.Add(10*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("purge: %d %v, want 1 (the pre-auth session)", n, err)
	}
	// Purging an account ends its sessions.
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, b.ID) })
	if _, err := s.PortalSession(ctx, "b1", t0); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("session of a purged account: %v", err)
	}
}

func testAuditCheckpoints(t *testing.T, s directory.Store) {
	ctx := context.Background()
	if _, err := s.LastCheckpoint(ctx); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("last checkpoint of an empty trail: %v, want ErrNotFound", err)
	}
	if cps, err := s.Checkpoints(ctx, 0, 10); err != nil || len(cps) != 0 {
		t.Fatalf("checkpoints of an empty trail: %v %v", cps, err)
	}
	pemKey, err := audit.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.ParseSigningKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	signer := audit.NewSigner(key)
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	for seq := int64(10); seq <= 30; seq += 10 {
		c := signer.Sign(seq, fmt.Sprintf("hash%d", seq), at.Add(time.Duration(seq)*time.Minute))
		if err := s.AddCheckpoint(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCheckpoint(ctx, signer.Sign(20, "other", at)); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("second checkpoint of event 20: %v, want ErrConflict", err)
	}
	last, err := s.LastCheckpoint(ctx)
	if err != nil || last.Seq != 30 || last.Hash != "hash30" {
		t.Fatalf("last checkpoint: %+v %v", last, err)
	}
	cps, err := s.Checkpoints(ctx, 10, 1)
	if err != nil || len(cps) != 1 || cps[0].Seq != 20 {
		t.Fatalf("checkpoints after 10, one: %+v %v", cps, err)
	}
	// What is read back still verifies: time, key id and signature survive.
	keys := audit.NewKeys(signer.Public())
	all, err := s.Checkpoints(ctx, 0, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("all checkpoints: %d %v", len(all), err)
	}
	for _, c := range all {
		if err := keys.Verify(c); err != nil {
			t.Errorf("stored checkpoint does not verify: %v", err)
		}
	}
}

func testAuditEventsAbout(t *testing.T, s directory.Store) {
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		target := "account:amy"
		if i%2 == 1 {
			target = "account:ben"
		}
		if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.note", Target: target})
		}); err != nil {
			t.Fatal(err)
		}
	}
	amy, err := s.AuditEventsAbout(ctx, "account:amy", 0, 0)
	if err != nil || len(amy) != 3 {
		t.Fatalf("events about amy: %d %v", len(amy), err)
	}
	for i, e := range amy {
		if e.Target != "account:amy" || e.Seq != int64(2*i+1) || e.Hash == "" {
			t.Errorf("event %d about amy: %+v", i, e)
		}
	}
	if page, _ := s.AuditEventsAbout(ctx, "account:ben", 2, 1); len(page) != 1 || page[0].Seq != 4 {
		t.Errorf("events about ben after 2, one: %+v", page)
	}
	if none, err := s.AuditEventsAbout(ctx, "account:nobody", 0, 0); err != nil || len(none) != 0 {
		t.Errorf("events about nobody: %+v %v", none, err)
	}
}

// lockOf asserts that a store is a directory.JobLocker.
func lockOf(t *testing.T, s directory.Store) directory.JobLocker {
	t.Helper()
	l, ok := s.(directory.JobLocker)
	if !ok {
		t.Fatalf("%T is not a directory.JobLocker", s)
	}
	return l
}

// tryLock takes a job lock and says whether it was granted.
func tryLock(t *testing.T, ctx context.Context, l directory.JobLocker, name string) (func(), bool) {
	t.Helper()
	release, ok, err := l.TryJobLock(ctx, name)
	if err != nil {
		t.Fatalf("TryJobLock(%q): %v", name, err)
	}
	if ok != (release != nil) {
		t.Fatalf("TryJobLock(%q): ok %v but release given %v", name, ok, release != nil)
	}
	return release, ok
}

// Within one store a job lock is exclusive too: two goroutines of one node
// must not both run the sync.
func testJobLock(t *testing.T, s directory.Store) {
	ctx := context.Background()
	l := lockOf(t, s)
	release, ok := tryLock(t, ctx, l, "mis-sync")
	if !ok {
		t.Fatal("a free lock was refused")
	}
	if _, ok := tryLock(t, ctx, l, "mis-sync"); ok {
		t.Fatal("a held lock was granted again to its own store")
	}
	other, ok := tryLock(t, ctx, l, "leaver-job")
	if !ok {
		t.Fatal("a lock of another name was refused")
	}
	other()
	release()
	release() // a second release is harmless
	// Released on a context that has ended: the job's deadline passing
	// must not keep the lock.
	jobCtx, cancel := context.WithCancel(ctx)
	release, ok = tryLock(t, jobCtx, l, "mis-sync")
	if !ok {
		t.Fatal("a released lock was refused")
	}
	cancel()
	release()
	release, ok = tryLock(t, ctx, l, "mis-sync")
	if !ok {
		t.Fatal("a lock released after its context ended was refused")
	}
	release()

	// Many goroutines at once: exactly one wins.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  int
		releases []func()
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, ok, err := l.TryJobLock(ctx, "race")
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				winners++
				releases = append(releases, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, r := range releases {
		r()
	}
	if winners != 1 {
		t.Errorf("%d goroutines got one lock, want 1", winners)
	}
}

// Nodes makes a fresh database and returns a function that opens a store
// on it, as another node would; the stores are closed when the test ends.
// A backend that lets one process at a time open its database for writing
// (SQLite) returns an error wrapping directory.ErrLocked while another
// store is open.
type Nodes func(t *testing.T) func() (directory.Store, error)

// RunNodes runs the tests of several stores on one database.
func RunNodes(t *testing.T, nodes Nodes) {
	tests := []struct {
		name string
		fn   func(t *testing.T, nodes Nodes)
	}{
		{"JobLockOneNodeAtATime", testJobLockAcrossNodes},
		{"JobLockReleasedOnClose", testJobLockReleasedOnClose},
		{"JobLocksOfSeparateDirectories", testJobLocksSeparate},
		{"LockoutSharedAcrossNodes", testLockoutAcrossNodes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, nodes) })
	}
}

func mustOpen(t *testing.T, open func() (directory.Store, error)) directory.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testJobLockAcrossNodes(t *testing.T, nodes Nodes) {
	ctx := context.Background()
	open := nodes(t)
	a := lockOf(t, mustOpen(t, open))
	sb, err := open()
	if errors.Is(err, directory.ErrLocked) {
		// One node per database: JobLock covers one store's goroutines,
		// and JobLockReleasedOnClose the next process to open it.
		t.Skipf("the backend allows one open store per database: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	b := lockOf(t, sb)
	releaseA, ok := tryLock(t, ctx, a, "mis-sync")
	if !ok {
		t.Fatal("node A was refused a free lock")
	}
	if _, ok := tryLock(t, ctx, b, "mis-sync"); ok {
		t.Fatal("node B was granted the lock node A holds")
	}
	if r, ok := tryLock(t, ctx, b, "leaver-job"); !ok {
		t.Fatal("node B was refused a lock of another name")
	} else {
		r()
	}
	releaseA()
	releaseB, ok := tryLock(t, ctx, b, "mis-sync")
	if !ok {
		t.Fatal("node B was refused the lock after node A released it")
	}
	if _, ok := tryLock(t, ctx, a, "mis-sync"); ok {
		t.Fatal("node A was granted the lock node B holds")
	}
	releaseB()
}

func testJobLockReleasedOnClose(t *testing.T, nodes Nodes) {
	ctx := context.Background()
	open := nodes(t)
	holder := mustOpen(t, open)
	if _, ok := tryLock(t, ctx, lockOf(t, holder), "mis-sync"); !ok {
		t.Fatal("a free lock was refused")
	}
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	next := mustOpen(t, open)
	release, ok := tryLock(t, ctx, lockOf(t, next), "mis-sync")
	if !ok {
		t.Fatal("the lock of a closed store was not released")
	}
	release()
}

// Two directories (two schemas of one PostgreSQL database, two SQLite
// files) are two trusts: their jobs do not wait for each other.
func testJobLocksSeparate(t *testing.T, nodes Nodes) {
	ctx := context.Background()
	a := mustOpen(t, nodes(t))
	b := mustOpen(t, nodes(t))
	ra, okA := tryLock(t, ctx, lockOf(t, a), "mis-sync")
	rb, okB := tryLock(t, ctx, lockOf(t, b), "mis-sync")
	if !okA || !okB {
		t.Fatalf("separate directories: granted %v and %v, want both", okA, okB)
	}
	ra()
	rb()
}

func testSealedKeys(t *testing.T, s directory.Store) {
	ctx := context.Background()
	if keys, err := s.SealedKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("empty store: %+v %v", keys, err)
	}
	a := mustCreate(t, s, pupil("sealed", "SK"))
	b := mustCreate(t, s, pupil("sealed2", "SK2"))
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		for _, c := range []directory.Credential{
			{AccountID: a.ID, Kind: directory.CredPassword, Secret: "$argon2id$x"},
			{AccountID: a.ID, Kind: directory.CredWiFi, Secret: "ks1:k1:bbb", KeyID: "k1"},
			{AccountID: b.ID, Kind: directory.CredWiFi, Secret: "ks1:k1:aaa", KeyID: "k1"},
			{AccountID: b.ID, Kind: directory.CredWiFi, Secret: "ks1:k0:old", KeyID: "k0", RevokedAt: time.Now()},
		} {
			if err := tx.AddCredential(ctx, &c); err != nil {
				return err
			}
		}
		return tx.PutNASClient(ctx, &directory.NASClient{Name: "ap", Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")},
			Secret: "ks1:k2:nas", KeyID: "k2"})
	})
	keys, err := s.SealedKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []directory.SealedKey{
		{Kind: directory.SealedNAS, KeyID: "k2", Count: 1, Sample: "ks1:k2:nas"},
		{Kind: directory.SealedWiFi, KeyID: "k0", Count: 1, Sample: "ks1:k0:old"},
		{Kind: directory.SealedWiFi, KeyID: "k1", Count: 2, Sample: "ks1:k1:aaa"},
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("sealed keys:\n got %+v\nwant %+v", keys, want)
	}
}

func testSessionsAt(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("firstholder", "FH"))
	b := mustCreate(t, s, pupil("nextholder", "NH"))
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// The address 10.9.8.7 is a's from 9:00 to 10:00, then b's from 10:30
	// (still live); c's session elsewhere never had it.
	for _, x := range []directory.Session{
		{AccountID: a.ID, Username: a.Username, NASAddress: "192.0.2.1", SessionID: "A", FramedIP: "10.9.8.7", StartedAt: t0, UpdatedAt: t0.Add(time.Hour), StoppedAt: t0.Add(time.Hour)},
		{AccountID: b.ID, Username: b.Username, NASAddress: "192.0.2.1", SessionID: "B", FramedIP: "10.9.8.7", StartedAt: t0.Add(90 * time.Minute), UpdatedAt: t0.Add(90 * time.Minute)},
		{AccountID: b.ID, Username: b.Username, NASAddress: "192.0.2.2", SessionID: "C", FramedIP: "10.9.8.70", StartedAt: t0, UpdatedAt: t0},
	} {
		if err := s.PutSession(ctx, &x); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{t0.Add(-time.Minute), ""},
		{t0, "A"},
		{t0.Add(30 * time.Minute), "A"},
		{t0.Add(time.Hour), "A"},
		{t0.Add(75 * time.Minute), ""},
		{t0.Add(90 * time.Minute), "B"},
		{t0.Add(48 * time.Hour), "B"},
	} {
		got, err := s.SessionsAt(ctx, "10.9.8.7", c.at)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range got {
			ids = append(ids, x.SessionID)
		}
		if strings.Join(ids, ",") != c.want {
			t.Errorf("at %s: sessions %v, want %q", c.at.Format("15:04"), ids, c.want)
		}
	}
	if got, _ := s.SessionsAt(ctx, "10.9.8.7", t0.Add(30*time.Minute)); len(got) == 1 && (got[0].AccountID != a.ID || got[0].Username != "firstholder") {
		t.Errorf("session at 9:30: %+v", got[0])
	}
}

// A retention prune deletes the start of the trail and its checkpoints in
// one transaction with the audit.prune event; the trail still verifies and
// can be checkpointed, and a plan made before the trail changed is refused.
func testAuditPrune(t *testing.T, s directory.Store) {
	ctx := context.Background()
	t0 := time.Date(2020, 9, 1, 8, 0, 0, 0, time.UTC)
	for i := range 15 {
		err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			return tx.Record(ctx, &audit.Event{Time: t0.Add(time.Duration(i) * time.Hour), Actor: "test", Action: "test.note", Target: fmt.Sprintf("n:%d", i+1)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	pemKey, err := audit.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.ParseSigningKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	signer := audit.NewSigner(key)
	evs, err := s.AuditEvents(ctx, 0, 20)
	if err != nil || len(evs) != 15 {
		t.Fatalf("events: %d %v", len(evs), err)
	}
	for _, seq := range []int{5, 10} {
		if err := s.AddCheckpoint(ctx, signer.Sign(int64(seq), evs[seq-1].Hash, t0)); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := directory.PlanPrune(ctx, s, t0.Add(6*time.Hour))
	if err != nil || plan.FirstSeq != 1 || plan.KeepFrom != 7 || plan.Removed != 6 || !plan.LastGone.Equal(t0.Add(5*time.Hour)) {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	ev, err := directory.PruneTrail(ctx, s, signer, plan, "cli:test", t0.Add(48*time.Hour))
	if err != nil || ev.Seq != 16 {
		t.Fatalf("prune: %+v %v", ev, err)
	}
	if p, ok := audit.PruneOf(ev); !ok || p.FirstSeq != 7 || p.PrevHash != evs[5].Hash || p.Removed != 6 {
		t.Errorf("prune event records %+v", p)
	}
	if first, err := s.AuditEvents(ctx, 0, 1); err != nil || len(first) != 1 || first[0].Seq != 7 {
		t.Fatalf("first event after the prune: %+v %v", first, err)
	}
	if cps, err := s.Checkpoints(ctx, 0, 10); err != nil || len(cps) != 1 || cps[0].Seq != 10 {
		t.Errorf("checkpoints after the prune: %+v %v, want only event 10's", cps, err)
	}
	keys := audit.NewKeys(signer.Public())
	rep, err := directory.VerifyTrail(ctx, s, keys)
	if err != nil || rep.FirstSeq != 7 || rep.PrunedBy != 16 || rep.Events != 10 || rep.Checkpoints != 1 {
		t.Fatalf("verify after the prune: %+v %v", rep, err)
	}
	if c, made, err := directory.Checkpoint(ctx, s, signer, t0.Add(49*time.Hour)); err != nil || !made || c.Seq != 16 {
		t.Fatalf("checkpoint after the prune: %+v %v %v", c, made, err)
	}
	if _, err := directory.PruneTrail(ctx, s, signer, plan, "cli:test", t0.Add(50*time.Hour)); !errors.Is(err, directory.ErrPlanStale) {
		t.Errorf("a stale plan: %v, want ErrPlanStale", err)
	}
	if head, _, _ := s.AuditHead(ctx); head != 16 {
		t.Errorf("a refused prune left the head at %d", head)
	}
	// Everything pruned: the prune event is the whole trail, and verifies.
	plan, err = directory.PlanPrune(ctx, s, t0.Add(1000*time.Hour))
	if err != nil || plan.KeepFrom != 17 {
		t.Fatalf("plan of everything: %+v %v", plan, err)
	}
	if ev, err := directory.PruneTrail(ctx, s, signer, plan, "cli:test", t0.Add(1001*time.Hour)); err != nil || ev.Seq != 17 {
		t.Fatalf("prune of everything: %+v %v", ev, err)
	}
	if rep, err := directory.VerifyTrail(ctx, s, keys); err != nil || rep.FirstSeq != 17 || rep.PrunedBy != 17 {
		t.Fatalf("verify after pruning everything: %+v %v", rep, err)
	}
	if c, made, err := directory.Checkpoint(ctx, s, signer, t0.Add(1002*time.Hour)); err != nil || !made || c.Seq != 17 {
		t.Fatalf("checkpoint of a trail with no checkpoint left: %+v %v %v", c, made, err)
	}
}
