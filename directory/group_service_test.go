package directory_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// eventsAbout lists the actions recorded about target, in order.
func eventsAbout(t *testing.T, s directory.Store, target string) []string {
	t.Helper()
	var out []string
	for e, err := range directory.EventsAbout(context.Background(), s, target) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(e.Action))
	}
	return out
}

func TestGroupsKeptByHand(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("tech1"), "")
	f.account(t, staff("tech2"), "")

	g, err := f.d.CreateGroup(ctx, "admin", directory.Group{Name: "portal-technicians", Description: "Portal role"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Source != directory.SourceManual || g.Kind != directory.GroupCustom || g.GIDNumber == 0 {
		t.Errorf("created %+v: want a manual custom group with a gidNumber", g)
	}
	if _, err := f.d.CreateGroup(ctx, "admin", directory.Group{Name: "portal-technicians"}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("second create: %v, want ErrConflict", err)
	}
	added, err := f.d.AddMembers(ctx, "admin", "portal-technicians", []string{"tech1", "tech2"})
	if err != nil || !slices.Equal(added, []string{"tech1", "tech2"}) {
		t.Fatalf("add: %v %v", added, err)
	}
	// Adding again changes nothing and records nothing.
	if added, err := f.d.AddMembers(ctx, "admin", "portal-technicians", []string{"tech1"}); err != nil || len(added) != 0 {
		t.Errorf("add again: %v %v", added, err)
	}
	// An unknown username aborts the lot: tech1 is not taken out.
	if _, err := f.d.RemoveMembers(ctx, "admin", "portal-technicians", []string{"tech1", "nobody"}); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("remove with an unknown name: %v, want ErrNotFound", err)
	}
	if m, _ := f.s.Members(ctx, g.ID); !slices.Equal(m, []string{"tech1", "tech2"}) {
		t.Errorf("members after a refused removal: %v", m)
	}
	if removed, err := f.d.RemoveMembers(ctx, "admin", "portal-technicians", []string{"tech1"}); err != nil || !slices.Equal(removed, []string{"tech1"}) {
		t.Errorf("remove: %v %v", removed, err)
	}
	if _, _, err := f.d.DeleteGroup(ctx, "admin", "portal-technicians", false); !errors.Is(err, directory.ErrGroupNotEmpty) {
		t.Errorf("delete a group with a member: %v, want ErrGroupNotEmpty", err)
	}
	if _, members, err := f.d.DeleteGroup(ctx, "admin", "portal-technicians", true); err != nil || !slices.Equal(members, []string{"tech2"}) {
		t.Errorf("forced delete: %v %v", members, err)
	}
	if _, err := f.s.GroupByName(ctx, "portal-technicians"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("group still there: %v", err)
	}
	want := []string{"group.create", "group.add_member", "group.add_member", "group.remove_member", "group.delete"}
	if got := eventsAbout(t, f.s, "group:portal-technicians"); !slices.Equal(got, want) {
		t.Errorf("audit events:\n got %v\nwant %v", got, want)
	}
}

func TestGroupsOfTheMISAreRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("teacher"), "")
	g := directory.Group{Name: "year-7", Kind: directory.GroupYear, Source: directory.SourceMIS}
	if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "sync", Action: "group.create", Target: "group:year-7"})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.AddMembers(ctx, "admin", "year-7", []string{a.Username}); !errors.Is(err, directory.ErrManagedByMIS) {
		t.Errorf("add to an MIS group: %v, want ErrManagedByMIS", err)
	}
	if _, err := f.d.RemoveMembers(ctx, "admin", "year-7", []string{a.Username}); !errors.Is(err, directory.ErrManagedByMIS) {
		t.Errorf("remove from an MIS group: %v, want ErrManagedByMIS", err)
	}
	if _, _, err := f.d.DeleteGroup(ctx, "admin", "year-7", true); !errors.Is(err, directory.ErrManagedByMIS) {
		t.Errorf("delete an MIS group: %v, want ErrManagedByMIS", err)
	}
	if _, err := f.s.GroupByName(ctx, "year-7"); err != nil {
		t.Errorf("MIS group gone: %v", err)
	}
}

func TestEnsureGroupsCreatesOnlyTheMissing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.d.CreateGroup(ctx, "admin", directory.Group{Name: "portal-auditors"}); err != nil {
		t.Fatal(err)
	}
	made, err := f.d.EnsureGroups(ctx, "init", []string{"portal-technicians", "portal-auditors"}, "Portal role")
	if err != nil || !slices.Equal(made, []string{"portal-technicians"}) {
		t.Fatalf("ensure: %v %v", made, err)
	}
	if made, err := f.d.EnsureGroups(ctx, "init", []string{"portal-technicians", "portal-auditors"}, "Portal role"); err != nil || len(made) != 0 {
		t.Errorf("second run: %v %v", made, err)
	}
}
