package portal_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestFilteringPage: a technician proposes a change with a risk note; it
// is listed as waiting and is not in force; a technician cannot approve
// it, a member of the approver group can; the decision is audited with
// who made it.
func TestFilteringPage(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{Controls: directory.Controls{FilteringApprovers: []string{"slt"}}})
	ctx := context.Background()
	if _, err := srv.Directory.CreateGroup(ctx, "test", directory.Group{Name: "slt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Directory.AddMembers(ctx, "test", "slt", []string{portaltest.Teacher}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Directory.ImportNetworkPolicies(ctx, "system:configuration", []directory.NetworkPolicy{{Group: "pupils", VLAN: "20", FilterID: "pupils-filtered"}}); err != nil {
		t.Fatal(err)
	}
	tech := mustSignIn(t, srv, portaltest.Technician)
	head := mustSignIn(t, srv, portaltest.Teacher)
	pupil := mustSignIn(t, srv, portaltest.Pupil)

	if p := pupil.get("/staff/filtering"); p.status != 403 {
		t.Errorf("a pupil sees the filtering page: %d", p.status)
	}
	p := tech.get("/staff/filtering")
	if p.status != 200 || !strings.Contains(p.body, "pupils-filtered") || !strings.Contains(p.body, "Propose a change") {
		t.Fatalf("technician's page: %d\n%s", p.status, p.body)
	}
	if p := head.post("/staff/filtering/propose", url.Values{"group": {"pupils"}, "vlan": {"30"}, "risk": {"x"}}); p.status != 403 {
		t.Errorf("a non-technician proposed: %d", p.status)
	}
	p = tech.post("/staff/filtering/propose", url.Values{"group": {"pupils"}, "vlan": {"30"}, "filter": {"pupils-open"}})
	if p.status != 422 || !strings.Contains(p.body, "risk note") {
		t.Fatalf("a proposal without a risk note: %d\n%s", p.status, p.body)
	}
	p = tech.post("/staff/filtering/propose", url.Values{"group": {"pupils"}, "vlan": {"30"}, "filter": {"pupils-open"},
		"risk": {"opens YouTube to pupils for music lessons; supervised rooms only"}})
	if p.status != 200 || !strings.Contains(p.body, "no effect until") || !strings.Contains(p.body, "opens YouTube") {
		t.Fatalf("propose: %d\n%s", p.status, p.body)
	}
	all, err := srv.Store.NetworkPolicies(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("policies: %v %v", all, err)
	}
	id := strconv.FormatInt(all[1].ID, 10)
	if inForce := directory.NetworkPoliciesInForce(all); len(inForce) != 1 || inForce[0].VLAN != "20" {
		t.Errorf("a proposal is in force: %+v", inForce)
	}
	if strings.Contains(p.body, `value="approve"`) {
		t.Error("a technician is offered the approval")
	}
	if p := tech.post("/staff/filtering/"+id+"/decide", url.Values{"decision": {"approve"}}); p.status != 403 || !strings.Contains(p.body, "only members of slt") {
		t.Errorf("a technician approved: %d\n%s", p.status, p.body)
	}
	p = head.get("/staff/filtering")
	if !strings.Contains(p.body, `action="/staff/filtering/`+id+`/decide"`) || strings.Contains(p.body, "Propose a change") {
		t.Fatalf("the approver's page:\n%s", p.body)
	}
	p = head.post("/staff/filtering/"+id+"/decide", url.Values{"decision": {"approve"}, "note": {"SLT meeting 3 March"}})
	if p.status != 200 || !strings.Contains(p.body, "approved") {
		t.Fatalf("approve: %d\n%s", p.status, p.body)
	}
	all, _ = srv.Store.NetworkPolicies(ctx)
	if inForce := directory.NetworkPoliciesInForce(all); len(inForce) != 1 || inForce[0].VLAN != "30" || inForce[0].DecidedBy != portaltest.Teacher {
		t.Errorf("after approval: %+v", inForce)
	}
	var actions []string
	evs, err := srv.Store.AuditEventsAbout(ctx, "network:pupils", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		actions = append(actions, string(e.Action)+" by "+e.Actor)
	}
	want := []string{"network.import by system:configuration", "network.propose by " + audit.UserActor(portaltest.Technician),
		"network.approve by " + audit.UserActor(portaltest.Teacher)}
	if strings.Join(actions, "|") != strings.Join(want, "|") {
		t.Errorf("events = %v, want %v", actions, want)
	}
}
