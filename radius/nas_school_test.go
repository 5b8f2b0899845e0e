package radius_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// papVia sends a PAP Access-Request with Debian's radclient from the
// source address src, so that the server takes it for the NAS client of
// that address.
func papVia(t *testing.T, srv *radiustest.Server, src, user, password string) (string, bool) {
	t.Helper()
	attrs := fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\nPacket-Src-IP-Address = %s\n", user, password, src)
	out, _ := radclient(t, srv.Auth, "auth", attrs)
	if !strings.Contains(out, "from "+src+":") {
		t.Fatalf("radclient did not send from %s:\n%s", src, out)
	}
	return out, strings.Contains(out, "Received Access-Accept")
}

// The VLAN follows the site: the same person through the NAS clients of
// two schools lands on each school's VLAN for their group, and on the
// trust's through the trust's NAS; a school's mapping proposed but not
// approved changes nothing at its access points.
func TestSchoolNASFollowsItsSchoolsPolicies(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	srv, _ := controlled(t, clock, directory.DevicePolicy{})
	srv.AddUser(t, radiustest.User{Username: "n.pupil", Role: directory.RolePupil, WiFi: "north-pupil-cred", Groups: []string{"pupils", "north-pupils"}})
	// Another process (a command) stores the NAS clients and decides: the
	// server hears of both through the store's change feed and the trail.
	d := directory.New(srv.Store, directory.Config{Now: clock.Now, Sealer: srv.Keyring,
		Controls: directory.Controls{FilteringApprovers: []string{"slt"}},
		Schools:  []directory.School{{ID: "north", Name: "Northgate Academy"}, {ID: "south", Name: "Southfield School"}}})
	for _, n := range []directory.NASClient{
		{Name: "north-ap", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, School: "north"},
		{Name: "south-ap", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}, School: "south"},
	} {
		if _, err := d.PutNAS(ctx, "cli:t.tech", n, radiustest.Secret); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ImportNetworkPolicies(ctx, "system:configuration", []directory.NetworkPolicy{
		{Group: "staff", VLAN: "10", FilterID: "staff-acl"}, {Group: "pupils", VLAN: "20", FilterID: "pupils-filtered"}}); err != nil {
		t.Fatal(err)
	}
	approve := func(p directory.NetworkPolicy) {
		t.Helper()
		prop, err := d.ProposeNetworkPolicy(ctx, "cli:t.tech", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.DecideNetworkPolicy(ctx, "cli:t.tech", account(t, d, "s.lead"), prop.ID, true, ""); err != nil {
			t.Fatal(err)
		}
	}
	approve(directory.NetworkPolicy{Group: "staff", VLAN: "110", FilterID: "north-staff-acl", RiskNote: "north's staff VLAN", School: "north"})
	approve(directory.NetworkPolicy{Group: "staff", VLAN: "210", FilterID: "south-staff-acl", RiskNote: "south's staff VLAN", School: "south"})
	approve(directory.NetworkPolicy{Group: "pupils", VLAN: "120", FilterID: "north-pupil-acl", RiskNote: "north's pupil VLAN", School: "north"})
	// South's pupils' mapping, proposed and not approved.
	pending, err := d.ProposeNetworkPolicy(ctx, "cli:t.tech", directory.NetworkPolicy{Group: "pupils", VLAN: "220", FilterID: "south-pupil-acl",
		RiskNote: "south's pupil VLAN", School: "south"})
	if err != nil {
		t.Fatal(err)
	}
	// Marks that the server has read the trail past the pending proposal:
	// south's Class for staff, approved after it.
	approve(directory.NetworkPolicy{Group: "staff", VLAN: "210", FilterID: "south-staff-acl", Class: "south-v2", RiskNote: "accounting class", School: "south"})

	vlan := func(v string) string { return fmt.Sprintf("Tunnel-Private-Group-Id:0 = %q", v) }
	filter := func(f string) string { return fmt.Sprintf("Filter-Id = %q", f) }
	eventually(t, "south's NAS and policies applied", func() (string, bool) {
		out, ok := papVia(t, srv, "127.0.0.3", "t.tech", "tech-wifi-cred-1")
		return out, ok && strings.Contains(out, fmt.Sprintf("Class = 0x%x", "south-v2"))
	})
	// The trust's central staff member at each site, and through the
	// trust's own NAS (test-nas, 127.0.0.0/8).
	for _, tc := range []struct{ src, user, cred, vlan, filter string }{
		{"127.0.0.2", "t.tech", "tech-wifi-cred-1", "110", "north-staff-acl"},
		{"127.0.0.3", "t.tech", "tech-wifi-cred-1", "210", "south-staff-acl"},
		{"127.0.0.1", "t.tech", "tech-wifi-cred-1", "10", "staff-acl"},
		{"127.0.0.2", "n.pupil", "north-pupil-cred", "120", "north-pupil-acl"},
		// South has no approved mapping for pupils: the trust's applies,
		// not the proposal's 220 and not north's 120.
		{"127.0.0.3", "n.pupil", "north-pupil-cred", "20", "pupils-filtered"},
		{"127.0.0.1", "n.pupil", "north-pupil-cred", "20", "pupils-filtered"},
	} {
		out, ok := papVia(t, srv, tc.src, tc.user, tc.cred)
		if !ok || !strings.Contains(out, vlan(tc.vlan)) || !strings.Contains(out, filter(tc.filter)) {
			t.Errorf("%s via %s: want vlan %s filter %s:\n%s", tc.user, tc.src, tc.vlan, tc.filter, out)
		}
	}
	// Once approved, a pupil of north at south's access point lands on
	// south's VLAN for pupils.
	if _, err := d.DecideNetworkPolicy(ctx, "cli:t.tech", account(t, d, "s.lead"), pending.ID, true, "agreed"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "south's pupils' mapping applied", func() (string, bool) {
		out, ok := papVia(t, srv, "127.0.0.3", "n.pupil", "north-pupil-cred")
		return out, ok && strings.Contains(out, vlan("220")) && strings.Contains(out, filter("south-pupil-acl"))
	})
	if out, ok := papVia(t, srv, "127.0.0.2", "n.pupil", "north-pupil-cred"); !ok || !strings.Contains(out, vlan("120")) {
		t.Errorf("north's pupil at north after south's change:\n%s", out)
	}
}

// The order of precedence, without a peer: a school's policies first (the
// first matching applies whole), then the trust's; a school with none
// follows the trust's.
func TestNetworkPoliciesForSchool(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	in := func(id int64, school, group, vlan string, precedence int) directory.NetworkPolicy {
		return directory.NetworkPolicy{ID: id, School: school, Group: group, VLAN: vlan, Precedence: precedence, Status: directory.NetworkApproved, ProposedAt: at}
	}
	ps := policyList{
		in(1, "", "staff", "10", 10), in(2, "", "pupils", "20", 20),
		in(3, "north", "pupils", "120", 20), in(4, "north", "*", "199", 90),
		in(5, "south", "visitors", "250", 10),
		{ID: 6, School: "south", Group: "staff", VLAN: "999", Status: directory.NetworkProposed},
	}
	n, err := radius.NewNetworkPolicies(ctx, ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		school string
		groups []string
		want   string
	}{
		{"", []string{"staff"}, "10"},
		{"", []string{"pupils"}, "20"},
		{"north", []string{"pupils"}, "120"},
		// North's "*" matches everyone at north before the trust's.
		{"north", []string{"staff"}, "199"},
		{"south", []string{"staff"}, "10"},
		{"south", []string{"staff", "visitors"}, "250"},
		{"east", []string{"pupils"}, "20"},
	} {
		got, ok := n.ForSchool(tc.school, tc.groups)
		if !ok || got.VLAN != tc.want {
			t.Errorf("ForSchool(%q, %v) = %+v %v, want vlan %s", tc.school, tc.groups, got, ok, tc.want)
		}
	}
	if got, _ := n.For([]string{"pupils"}); got.VLAN != "20" {
		t.Errorf("For, the trust's: %+v", got)
	}
}

type policyList []directory.NetworkPolicy

func (l policyList) NetworkPolicies(context.Context) ([]directory.NetworkPolicy, error) {
	return l, nil
}

// The web filter hears the mapping the access point was told: a session
// accounted by a school's NAS carries that school's policy.
func TestAccountingOfASchoolNASCarriesItsPolicy(t *testing.T) {
	ctx := context.Background()
	k := &sink{}
	controls := directory.Controls{FilteringApprovers: []string{"slt"}}
	srv := radiustest.New(t, radiustest.Options{Controls: controls, Config: radius.Config{Accounting: k, AuditPoll: 20 * time.Millisecond,
		Policies: []radius.Policy{{Group: "staff", VLAN: "10", FilterID: "staff-acl"}}}})
	srv.AddUser(t, radiustest.User{Username: "s.lead", Groups: []string{"staff", "slt"}})
	srv.AddUser(t, radiustest.User{Username: "t.tech", Groups: []string{"staff"}})
	d := directory.New(srv.Store, directory.Config{Sealer: srv.Keyring, Controls: controls, Schools: []directory.School{{ID: "north", Name: "Northgate Academy"}}})
	if _, err := d.PutNAS(ctx, "cli:t.tech", directory.NASClient{Name: "north-ap", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, School: "north"},
		radiustest.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImportNetworkPolicies(ctx, "system:configuration", []directory.NetworkPolicy{{Group: "staff", VLAN: "10", FilterID: "staff-acl"}}); err != nil {
		t.Fatal(err)
	}
	prop, err := d.ProposeNetworkPolicy(ctx, "cli:t.tech", directory.NetworkPolicy{Group: "staff", VLAN: "110", FilterID: "north-staff-acl", RiskNote: "r", School: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DecideNetworkPolicy(ctx, "cli:t.tech", account(t, d, "s.lead"), prop.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	n := 0
	start := func(from string) radius.Accounting {
		t.Helper()
		n++
		p := layeh.New(layeh.CodeAccountingRequest, []byte(radiustest.Secret))
		rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Start)
		rfc2865.UserName_SetString(p, "t.tech")
		rfc2866.AcctSessionID_SetString(p, fmt.Sprintf("S-%d", n))
		b, _ := p.Encode()
		if r := srv.Radius.HandlePacket(ctx, netip.MustParseAddrPort(from+":40000"), b, false); r == nil {
			t.Fatalf("Start from %s not answered", from)
		}
		got := k.all()
		return got[len(got)-1]
	}
	var a radius.Accounting
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if a = start("127.0.0.2"); a.Session.NASName == "north-ap" && a.Policy.FilterID == "north-staff-acl" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("north-ap's session never carried north's policy: %+v", a)
		}
	}
	if a := start("127.0.0.1"); a.Session.NASName != "test-nas" || a.Policy.FilterID != "staff-acl" {
		t.Errorf("the trust's NAS: %+v", a)
	}
}
