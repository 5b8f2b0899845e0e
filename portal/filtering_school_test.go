package portal_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestFilteringPageNamesASchoolsMapping: a mapping given for one school's
// access points says so on the page, and a trust-wide proposal from the
// page keeps the trust's mapping's place, not the school's.
func TestFilteringPageNamesASchoolsMapping(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{Controls: directory.Controls{FilteringApprovers: []string{"slt"}}})
	ctx := context.Background()
	if _, err := srv.Directory.ImportNetworkPolicies(ctx, "system:configuration", []directory.NetworkPolicy{{Group: "pupils", VLAN: "20", FilterID: "pupils-filtered"}}); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	north := directory.NetworkPolicy{Group: "pupils", School: "north", Precedence: 5, VLAN: "120", FilterID: "north-pupil-acl", Status: directory.NetworkApproved,
		RiskNote: "north's VLAN", ProposedBy: "cli:tech", ProposedAt: at, DecidedBy: "head", DecidedAt: at}
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddNetworkPolicy(ctx, &north); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: at, Actor: "test", Action: audit.ActionNetworkApprove, Target: "network:north/pupils"})
	}); err != nil {
		t.Fatal(err)
	}
	tech := mustSignIn(t, srv, portaltest.Technician)
	p := tech.get("/staff/filtering")
	if p.status != 200 || !strings.Contains(p.body, "north-pupil-acl") || !strings.Contains(p.body, "(at north's access points)") {
		t.Fatalf("technician's page: %d\n%s", p.status, p.body)
	}
	p = tech.post("/staff/filtering/propose", url.Values{"group": {"pupils"}, "vlan": {"30"}, "risk": {"a new trust-wide VLAN"}})
	if p.status != 200 {
		t.Fatalf("propose: %d\n%s", p.status, p.body)
	}
	all, err := srv.Store.NetworkPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := all[len(all)-1]
	if last.School != "" || last.Precedence != 10 {
		t.Errorf("the page's proposal: school %q precedence %d, want the trust's, at the trust's mapping's 10", last.School, last.Precedence)
	}
}
