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

// papFrom sends a PAP Access-Request from the device mac ("" sends no
// Calling-Station-Id) with Debian's radclient and returns what it printed
// and whether the answer was an Access-Accept.
func papFrom(t *testing.T, srv *radiustest.Server, user, password, mac string) (string, bool) {
	t.Helper()
	attrs := fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\n", user, password)
	if mac != "" {
		attrs += fmt.Sprintf("Calling-Station-Id = %q\n", mac)
	}
	out, _ := radclient(t, srv.Auth, "auth", attrs)
	return out, strings.Contains(out, "Received Access-Accept")
}

// eventually retries try until it reports true, for at most 10 seconds:
// what another process commits reaches the server through the audit trail.
func eventually(t *testing.T, what string, try func() (string, bool)) string {
	t.Helper()
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var ok bool
		if out, ok = try(); ok {
			return out
		}
	}
	t.Fatalf("%s: never happened; last answer:\n%s", what, out)
	return out
}

// controlled starts a server whose directory names approvers: slt for the
// filtering, head for personal devices, dsl for exceptions; with pupils on
// VLAN 20 and staff on 10 in the configuration, as a school has them
// before its first start.
func controlled(t *testing.T, clock *fakeClock, devices directory.DevicePolicy) (*radiustest.Server, *directory.Directory) {
	t.Helper()
	controls := directory.Controls{FilteringApprovers: []string{"slt"}, DeviceApprovers: []string{"head"}, ExceptionApprovers: []string{"dsl"}, Devices: devices}
	cfg := radius.Config{ReplyMessages: true, AuditPoll: 20 * time.Millisecond, Policies: []radius.Policy{
		{Group: "staff", VLAN: "10", FilterID: "staff-acl"},
		{Group: "pupils", VLAN: "20", FilterID: "pupils-filtered"},
	}}
	srv := radiustest.New(t, radiustest.Options{Now: clock.Now, Config: cfg, Controls: controls})
	for _, u := range []radiustest.User{
		{Username: "s.lead", WiFi: "slt-wifi-cred-1", Groups: []string{"staff", "slt"}},
		{Username: "h.teacher", WiFi: "head-wifi-cred-1", Groups: []string{"staff", "head"}},
		{Username: "d.lead", WiFi: "dsl-wifi-cred-1", Groups: []string{"staff", "dsl"}},
		{Username: "t.tech", WiFi: "tech-wifi-cred-1", Groups: []string{"staff"}},
		{Username: "p.one", Role: directory.RolePupil, WiFi: "pupil-wifi-cred-1", Groups: []string{"pupils"}},
	} {
		srv.AddUser(t, u)
	}
	// Another process (a command, the portal on another node) decides:
	// the server hears of it only through the audit trail.
	d := directory.New(srv.Store, directory.Config{Now: clock.Now, Controls: controls})
	return srv, d
}

func account(t *testing.T, d *directory.Directory, name string) directory.Account {
	t.Helper()
	a, err := d.Store().AccountByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A proposed change to the filtering has no effect on an Access-Accept
// until a senior role approves it; then it does, on the running server.
func TestFilteringChangeTakesEffectOnlyOnceApproved(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	srv, d := controlled(t, clock, directory.DevicePolicy{})
	vlan := func(v string) string { return fmt.Sprintf("Tunnel-Private-Group-Id:0 = %q", v) }
	filter := func(f string) string { return fmt.Sprintf("Filter-Id = %q", f) }

	out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", "")
	if !ok || !strings.Contains(out, vlan("20")) || !strings.Contains(out, filter("pupils-filtered")) {
		t.Fatalf("before any change, from the configuration:\n%s", out)
	}
	// The first start takes the configuration's mapping into the directory.
	if n, err := d.ImportNetworkPolicies(ctx, "system:configuration", []directory.NetworkPolicy{
		{Group: "staff", VLAN: "10", FilterID: "staff-acl"}, {Group: "pupils", VLAN: "20", FilterID: "pupils-filtered"}}); err != nil || n != 2 {
		t.Fatalf("import: %d %v", n, err)
	}
	open, err := d.ProposeNetworkPolicy(ctx, "cli:t.tech", directory.NetworkPolicy{Group: "pupils", Precedence: 20, VLAN: "30", FilterID: "pupils-open",
		RiskNote: "opens social media to pupils"})
	if err != nil {
		t.Fatal(err)
	}
	// A later change, approved: once the server applies it, it has read
	// the trail past the unapproved proposal, which must have done nothing.
	later, err := d.ProposeNetworkPolicy(ctx, "cli:t.tech", directory.NetworkPolicy{Group: "pupils", Precedence: 20, VLAN: "20", FilterID: "pupils-v2",
		RiskNote: "new category list from the filter vendor"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DecideNetworkPolicy(ctx, "cli:t.tech", account(t, d, "t.tech"), later.ID, true, ""); err == nil {
		t.Fatal("a technician approved a filtering change")
	}
	if _, err := d.DecideNetworkPolicy(ctx, "cli:t.tech", account(t, d, "s.lead"), later.ID, true, "SLT 3 March"); err != nil {
		t.Fatal(err)
	}
	out = eventually(t, "the approved change applied", func() (string, bool) {
		out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", "")
		return out, ok && strings.Contains(out, filter("pupils-v2"))
	})
	if !strings.Contains(out, vlan("20")) || strings.Contains(out, vlan("30")) {
		t.Fatalf("the unapproved proposal took effect:\n%s", out)
	}
	// Staff are untouched by a change to the pupils' mapping.
	if out, ok := papFrom(t, srv, "t.tech", "tech-wifi-cred-1", ""); !ok || !strings.Contains(out, vlan("10")) {
		t.Errorf("staff after the change:\n%s", out)
	}
	if _, err := d.DecideNetworkPolicy(ctx, "cli:t.tech", account(t, d, "s.lead"), open.ID, true, "risk accepted for exam week"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second approval applied", func() (string, bool) {
		out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", "")
		return out, ok && strings.Contains(out, vlan("30")) && strings.Contains(out, filter("pupils-open"))
	})
}

// A pupil's personal device is refused on the Wi-Fi until a named role
// approves it, and accepted until the approval's end; a school device is
// nobody's personal device.
func TestPupilDeviceNeedsApprovalUntilItsEnd(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	srv, d := controlled(t, clock, directory.DevicePolicy{Rules: map[directory.Role]directory.DeviceRule{directory.RolePupil: directory.DeviceApproval}})
	phone, other, laptop := "02-00-00-00-00-07", "02:00:00:00:00:08", "02-00-00-00-00-09"

	out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", phone)
	if ok || !strings.Contains(out, "Personal devices need the school") {
		t.Fatalf("an unapproved pupil device:\n%s", out)
	}
	if out, ok := papFrom(t, srv, "t.tech", "tech-wifi-cred-1", phone); !ok {
		t.Errorf("a member of staff's device (staff: allow):\n%s", out)
	}
	pupil := account(t, d, "p.one")
	until := clock.Now().Add(48 * time.Hour)
	if _, err := d.Approve(ctx, "cli:t.tech", account(t, d, "d.lead"), pupil, directory.Approval{Kind: directory.ApprovalDevice, Device: phone,
		Reason: "insulin pump app", Until: until}); err == nil {
		t.Fatal("approved by someone outside [approvals] device_groups")
	}
	if _, err := d.Approve(ctx, "cli:t.tech", account(t, d, "h.teacher"), pupil, directory.Approval{Kind: directory.ApprovalDevice, Device: phone,
		Reason: "insulin pump app", Until: until}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the approved device accepted", func() (string, bool) { return papFrom(t, srv, "p.one", "pupil-wifi-cred-1", phone) })
	if out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", other); ok {
		t.Errorf("another device of the pupil rode on the approval of one:\n%s", out)
	}
	clock.Add(47 * time.Hour)
	if out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", phone); !ok {
		t.Errorf("an hour before the approval ends:\n%s", out)
	}
	clock.Add(2 * time.Hour)
	if out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", phone); ok || !strings.Contains(out, "Personal devices need the school") {
		t.Errorf("after the approval's end:\n%s", out)
	}
	// A school laptop, on the register, needs no approval.
	if _, err := d.RegisterSchoolDevice(ctx, "cli:t.tech", laptop, "library laptop 12"); err != nil {
		t.Fatal(err)
	}
	if out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", laptop); !ok {
		t.Errorf("a school device:\n%s", out)
	}
}

// The limit of devices per person: at the limit a new device is refused,
// or let on and flagged, as configured; a device forgotten frees a place.
func TestDeviceLimit(t *testing.T) {
	ctx := context.Background()
	for _, atLimit := range []string{directory.DeviceAtLimitRefuse, directory.DeviceAtLimitFlag} {
		t.Run(atLimit, func(t *testing.T) {
			clock := &fakeClock{now: time.Now()}
			srv, d := controlled(t, clock, directory.DevicePolicy{MaxPerPerson: 2, AtLimit: atLimit})
			for _, mac := range []string{"02-00-00-00-00-01", "02-00-00-00-00-02"} {
				if out, ok := papFrom(t, srv, "t.tech", "tech-wifi-cred-1", mac); !ok {
					t.Fatalf("device %s under the limit:\n%s", mac, out)
				}
			}
			out, ok := papFrom(t, srv, "t.tech", "tech-wifi-cred-1", "02-00-00-00-00-03")
			tech := account(t, d, "t.tech")
			ds, err := d.Store().Devices(ctx, tech.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch atLimit {
			case directory.DeviceAtLimitRefuse:
				if ok || !strings.Contains(out, "You already use 2 devices") || len(ds) != 2 {
					t.Fatalf("a third device, refused: %v %v\n%s", ok, ds, out)
				}
				if out, ok := papFrom(t, srv, "t.tech", "tech-wifi-cred-1", "02-00-00-00-00-01"); !ok {
					t.Errorf("a known device at the limit:\n%s", out)
				}
				if err := d.ForgetDevice(ctx, "cli:t.tech", tech, "02:00:00:00:00:01"); err != nil {
					t.Fatal(err)
				}
				eventually(t, "a place freed by forgetting a device", func() (string, bool) {
					return papFrom(t, srv, "t.tech", "tech-wifi-cred-1", "02-00-00-00-00-03")
				})
			case directory.DeviceAtLimitFlag:
				if !ok || len(ds) != 3 || !ds[2].Flagged || ds[0].Flagged {
					t.Fatalf("a third device, flagged: %v %+v\n%s", ok, ds, out)
				}
				// One person cycling device addresses records at most
				// maxDevicesNoted of them, and is still let on.
				for i := 4; i <= radius.MaxDevicesNoted+8; i++ {
					if out, ok := papFrom(t, srv, "t.tech", "tech-wifi-cred-1", fmt.Sprintf("02-00-00-00-01-%02x", i)); !ok {
						t.Fatalf("device %d, flagged:\n%s", i, out)
					}
				}
				if ds, err := d.Store().Devices(ctx, tech.ID); err != nil || len(ds) != radius.MaxDevicesNoted {
					t.Errorf("devices recorded after a flood of addresses: %d (%v), want %d", len(ds), err, radius.MaxDevicesNoted)
				}
			}
		})
	}
}

// An exception for a vulnerable pupil puts them on another VLAN and filter
// than their group's, until it is revoked.
func TestNetworkExceptionForOnePupil(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	srv, d := controlled(t, clock, directory.DevicePolicy{})
	pupil := account(t, d, "p.one")
	ex, err := d.Approve(ctx, "portal:d.lead", account(t, d, "d.lead"), pupil, directory.Approval{Kind: directory.ApprovalNetwork, VLAN: "25",
		FilterID: "sen-supervised", Reason: "EHCP: supervised browsing", Until: clock.Now().AddDate(0, 3, 0)})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the exception applied", func() (string, bool) {
		out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", "")
		return out, ok && strings.Contains(out, `Tunnel-Private-Group-Id:0 = "25"`) && strings.Contains(out, `Filter-Id = "sen-supervised"`)
	})
	if _, err := d.RevokeApproval(ctx, "portal:d.lead", pupil, ex.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the group's network back", func() (string, bool) {
		out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", "")
		return out, ok && strings.Contains(out, `Tunnel-Private-Group-Id:0 = "20"`)
	})
}

// The web filter hears the exception's filter for the person, as the
// access point was told.
func TestNetworkExceptionReachesTheWebFilter(t *testing.T) {
	ctx := context.Background()
	k := &sink{}
	clock := &fakeClock{now: time.Now()}
	controls := directory.Controls{ExceptionApprovers: []string{"dsl"}}
	srv := radiustest.New(t, radiustest.Options{Now: clock.Now, Controls: controls, Config: radius.Config{Accounting: k,
		Policies: []radius.Policy{{Group: "pupils", VLAN: "20", FilterID: "pupils-filtered"}}}})
	dsl := srv.AddUser(t, radiustest.User{Username: "d.lead", Groups: []string{"dsl"}})
	pupil := srv.AddUser(t, radiustest.User{Username: "p.one", Role: directory.RolePupil, WiFi: "pupil-wifi-cred-1", Groups: []string{"pupils"}})
	if _, err := srv.Directory.Approve(ctx, "portal:d.lead", dsl, pupil, directory.Approval{Kind: directory.ApprovalNetwork,
		FilterID: "sen-supervised", Reason: "EHCP", Until: clock.Now().AddDate(0, 1, 0)}); err != nil {
		t.Fatal(err)
	}
	p := layeh.New(layeh.CodeAccountingRequest, []byte(radiustest.Secret))
	rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Start)
	rfc2865.UserName_SetString(p, "p.one")
	rfc2866.AcctSessionID_SetString(p, "X-1")
	b, _ := p.Encode()
	if r := srv.Radius.HandlePacket(ctx, netip.MustParseAddrPort("127.0.0.1:40000"), b, false); r == nil {
		t.Fatal("not answered")
	}
	got := k.all()
	if len(got) != 1 || got[0].Policy.FilterID != "sen-supervised" || got[0].Policy.VLAN != "20" {
		t.Errorf("the web filter heard %+v", got)
	}
}

// On PostgreSQL, a filtering change approved on one node (the portal or a
// command there) applies on a RADIUS node serving from another connection,
// and a pupil's device approved there is let on.
func TestFilteringAndDeviceApprovedOnAnotherNode(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	controls := directory.Controls{FilteringApprovers: []string{"slt"}, DeviceApprovers: []string{"slt"},
		Devices: directory.DevicePolicy{Rules: map[directory.Role]directory.DeviceRule{directory.RolePupil: directory.DeviceApproval}}}
	srv := radiustest.New(t, radiustest.Options{Store: a, Controls: controls, Config: radius.Config{ReplyMessages: true, AuditPoll: 50 * time.Millisecond,
		Policies: []radius.Policy{{Group: "pupils", VLAN: "20"}}}})
	srv.AddUser(t, radiustest.User{Username: "s.lead", Groups: []string{"slt"}})
	srv.AddUser(t, radiustest.User{Username: "p.one", Role: directory.RolePupil, WiFi: "pupil-wifi-cred-1", Groups: []string{"pupils"}})
	<-srv.Radius.Ready()
	d := directory.New(b, directory.Config{Controls: controls})
	phone := "02-00-00-00-00-07"
	if out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", phone); ok {
		t.Fatalf("an unapproved device on node A:\n%s", out)
	}
	lead, err := b.AccountByUsername(ctx, "s.lead")
	if err != nil {
		t.Fatal(err)
	}
	pupil, err := b.AccountByUsername(ctx, "p.one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Approve(ctx, "portal:s.lead", lead, pupil, directory.Approval{Kind: directory.ApprovalDevice, Device: phone, Reason: "medical",
		Until: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ImportNetworkPolicies(ctx, "system:configuration", []directory.NetworkPolicy{{Group: "pupils", VLAN: "20"}}); err != nil {
		t.Fatal(err)
	}
	p, err := d.ProposeNetworkPolicy(ctx, "cli:tech", directory.NetworkPolicy{Group: "pupils", VLAN: "40", RiskNote: "new building"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DecideNetworkPolicy(ctx, "cli:tech", lead, p.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node B's approvals applied on node A", func() (string, bool) {
		out, ok := papFrom(t, srv, "p.one", "pupil-wifi-cred-1", phone)
		return out, ok && strings.Contains(out, `Tunnel-Private-Group-Id:0 = "40"`)
	})
}
