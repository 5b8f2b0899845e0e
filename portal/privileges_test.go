package portal_test

import (
	"context"
	"net/http"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// /static/ serves its files but never a listing of its directory.
func TestStaticListsNoDirectory(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	b := newBrowser(t, srv)
	for _, path := range []string{"/static/", "/static", "/static/./"} {
		if p := b.get(path); p.status == http.StatusOK {
			t.Errorf("GET %s: %d, a listing:\n%s", path, p.status, p.body)
		}
	}
	if p := b.get("/static/portal.css"); p.status != http.StatusOK {
		t.Errorf("GET /static/portal.css: %d", p.status)
	}
}

// A group named in technician_groups grants the role only when it is kept
// by hand: one of the same name that came from the MIS grants nothing.
func TestRoleOnlyFromHandKeptGroups(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get("/staff/guests"); p.status != http.StatusOK {
		t.Fatalf("the technician, by a hand-kept group: %d", p.status)
	}
	ctx := context.Background()
	err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		g, err := tx.GroupByName(ctx, "portal-technicians")
		if err != nil {
			return err
		}
		if _, err := tx.UpdateGroup(ctx, g.ID, func(g *directory.Group) error { g.Source = directory.SourceMIS; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "group.update", Target: "group:portal-technicians"})
	})
	if err != nil {
		t.Fatal(err)
	}
	tech = mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get("/staff/guests"); p.status == http.StatusOK {
		t.Errorf("a group of the same name from the MIS granted the technician role")
	}
}
