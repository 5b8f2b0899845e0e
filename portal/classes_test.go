package portal_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestTeacherSeesOwnClasses: a teacher sees the MIS groups they are in and
// how each pupil there stands; not another teacher's class, not a group
// kept by hand, and nothing when the option is off.
func TestTeacherSeesOwnClasses(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{TeachersSeeClasses: true})
	ctx := context.Background()
	d := srv.Directory
	other := directory.Account{Username: "tother", Role: directory.RoleStaff, GivenName: "Olu", FamilyName: "Other"}
	nopw := directory.Account{Username: "26bnew", Role: directory.RolePupil, GivenName: "Bea", FamilyName: "New", YearGroup: "7", RegGroup: "7A"}
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for _, a := range []*directory.Account{&other, &nopw} {
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
		}
		for _, g := range []struct {
			g       directory.Group
			members []int64
		}{
			{directory.Group{Name: "7a", Kind: directory.GroupReg, Source: directory.SourceMIS, Description: "Registration group 7A"},
				[]int64{srv.Accounts[portaltest.Teacher].ID, srv.Accounts[portaltest.Pupil].ID, nopw.ID}},
			{directory.Group{Name: "7-ma-1", Kind: directory.GroupClass, Source: directory.SourceMIS, Description: "Class 7-ma-1"},
				[]int64{other.ID, srv.Accounts[portaltest.Pupil].ID}},
			{directory.Group{Name: "chess-club", Kind: directory.GroupCustom, Source: directory.SourceManual, Description: "Chess"},
				[]int64{srv.Accounts[portaltest.Teacher].ID, nopw.ID}},
		} {
			if err := tx.CreateGroup(ctx, &g.g); err != nil {
				return err
			}
			for _, id := range g.members {
				if err := tx.AddMember(ctx, g.g.ID, id); err != nil {
					return err
				}
			}
		}
		return d.Record(ctx, tx, "test", "test.seed", "test", nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	teacher := mustSignIn(t, srv, portaltest.Teacher)
	p := teacher.get("/classes")
	if p.status != 200 || !strings.Contains(p.body, `href="/classes/7a"`) || strings.Contains(p.body, "7-ma-1") || strings.Contains(p.body, "chess-club") {
		t.Fatalf("teacher's classes: %d\n%s", p.status, p.body)
	}
	p = teacher.get("/classes/7a")
	text := strings.ReplaceAll(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(p.body, ""), "\n", "")
	if p.status != 200 || !strings.Contains(text, portaltest.Pupil) || !strings.Contains(text, "26bnew") || strings.Contains(text, portaltest.Teacher+"active") {
		t.Fatalf("class 7a: %d\n%s", p.status, text)
	}
	// The seeded pupil has consent and a password; the new one has neither.
	if !strings.Contains(text, portaltest.Pupil+"activeto signin ordernone yetset") {
		t.Errorf("seeded pupil's row:\n%s", text)
	}
	if !strings.Contains(text, "26bnewactiveto signmissingnone yetneeds a first password") {
		t.Errorf("new pupil's row:\n%s", text)
	}
	for _, path := range []string{"/classes/7-ma-1", "/classes/chess-club", "/classes/nothing"} {
		if p := teacher.get(path); p.status != 404 || strings.Contains(p.body, portaltest.Pupil) {
			t.Errorf("%s: %d, want 404 without the pupils", path, p.status)
		}
	}
	if p := mustSignIn(t, srv, portaltest.Pupil).get("/classes"); p.status != 403 {
		t.Errorf("a pupil sees /classes: %d", p.status)
	}
	if ev := events(t, srv.Store, "portal.view_class"); len(ev) != 1 || ev[0].Target != "group:7a" {
		t.Errorf("class views recorded: %+v", ev)
	}

	off := portaltest.Start(t, portaltest.Options{})
	if p := mustSignIn(t, off, portaltest.Teacher).get("/classes"); p.status != 404 {
		t.Errorf("with teachers_see_classes off: %d", p.status)
	}
}
