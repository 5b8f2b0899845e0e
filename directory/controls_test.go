package directory_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// controlled is a fixture whose directory names approver groups: slt
// approves filtering, head personal devices, dsl exceptions.
func controlled(t *testing.T, devices directory.DevicePolicy) (*fixture, map[string]directory.Account) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	f.d = directory.New(f.s, directory.Config{Hasher: f.d.Hasher(), Sealer: f.d.Sealer(), Now: func() time.Time { return f.now },
		Controls: directory.Controls{FilteringApprovers: []string{"slt"}, DeviceApprovers: []string{"head"}, ExceptionApprovers: []string{"dsl"},
			Devices: devices}})
	people := map[string]directory.Account{}
	for _, name := range []string{"tech", "sltmember", "headteacher", "dslmember"} {
		a := staff(name)
		a.Status = directory.StatusActive
		people[name] = f.account(t, a, "")
	}
	p := directory.Account{Username: "zpupil", Role: directory.RolePupil, YearGroup: "8", GivenName: "Zed", FamilyName: "Pupil", Status: directory.StatusActive}
	people["zpupil"] = f.account(t, p, "")
	for group, member := range map[string]string{"slt": "sltmember", "head": "headteacher", "dsl": "dslmember"} {
		if _, err := f.d.CreateGroup(ctx, "test", directory.Group{Name: group}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.AddMembers(ctx, "test", group, []string{member}); err != nil {
			t.Fatal(err)
		}
	}
	return f, people
}

func TestNetworkPolicyTakesEffectOnlyWhenApproved(t *testing.T) {
	ctx := context.Background()
	f, p := controlled(t, directory.DevicePolicy{})
	n, err := f.d.ImportNetworkPolicies(ctx, "config", []directory.NetworkPolicy{{Group: "staff", VLAN: "10"}, {Group: "pupils", VLAN: "20", FilterID: "pupils"}})
	if err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	// A second start imports nothing: the directory has its mappings.
	if n, err := f.d.ImportNetworkPolicies(ctx, "config", []directory.NetworkPolicy{{Group: "x", VLAN: "1"}}); err != nil || n != 0 {
		t.Fatalf("second import: %d, %v", n, err)
	}
	inForce := func() map[string]string {
		all, err := f.s.NetworkPolicies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, p := range directory.NetworkPoliciesInForce(all) {
			m[p.Group] = p.VLAN
		}
		return m
	}
	if _, err := f.d.ProposeNetworkPolicy(ctx, "cli:tech", directory.NetworkPolicy{Group: "pupils", VLAN: "30"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("a proposal without a risk note: %v, want ErrInvalid", err)
	}
	prop, err := f.d.ProposeNetworkPolicy(ctx, "cli:tech", directory.NetworkPolicy{Group: "pupils", VLAN: "30", FilterID: "pupils-open", RiskNote: "exam week"})
	if err != nil {
		t.Fatal(err)
	}
	if got := inForce(); got["pupils"] != "20" {
		t.Fatalf("a proposal took effect: %v", got)
	}
	for name, by := range map[string]directory.Account{"a technician": p["tech"], "the DSL": p["dslmember"]} {
		if _, err := f.d.DecideNetworkPolicy(ctx, "cli:x", by, prop.ID, true, ""); !errors.Is(err, directory.ErrNotApprover) {
			t.Errorf("approved by %s: %v, want ErrNotApprover", name, err)
		}
	}
	// An approver may not approve their own proposal.
	own, err := f.d.ProposeNetworkPolicy(ctx, "portal:sltmember", directory.NetworkPolicy{Group: "staff", VLAN: "11", RiskNote: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.DecideNetworkPolicy(ctx, "portal:sltmember", p["sltmember"], own.ID, true, ""); !errors.Is(err, directory.ErrNotApprover) {
		t.Errorf("own proposal approved: %v", err)
	}
	got, err := f.d.DecideNetworkPolicy(ctx, "cli:tech", p["sltmember"], prop.ID, true, "agreed at SLT 3 March")
	if err != nil || got.Status != directory.NetworkApproved || got.DecidedBy != "sltmember" {
		t.Fatalf("approve: %+v, %v", got, err)
	}
	if got := inForce(); got["pupils"] != "30" || got["staff"] != "10" {
		t.Fatalf("after approval: %v", got)
	}
	if _, err := f.d.DecideNetworkPolicy(ctx, "cli:tech", p["sltmember"], prop.ID, false, ""); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("deciding twice: %v", err)
	}
	// A rejected proposal, and an approved removal.
	rej, _ := f.d.ProposeNetworkPolicy(ctx, "cli:tech", directory.NetworkPolicy{Group: "staff", VLAN: "99", RiskNote: "y"})
	if _, err := f.d.DecideNetworkPolicy(ctx, "cli:tech", p["sltmember"], rej.ID, false, "no"); err != nil {
		t.Fatal(err)
	}
	rm, _ := f.d.ProposeNetworkPolicy(ctx, "cli:tech", directory.NetworkPolicy{Group: "pupils", Removal: true, RiskNote: "z"})
	if _, err := f.d.DecideNetworkPolicy(ctx, "cli:tech", p["sltmember"], rm.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if got := inForce(); len(got) != 1 || got["staff"] != "10" {
		t.Errorf("after a rejection and a removal: %v", got)
	}
	evs := eventsAbout(t, f.s, "network:pupils")
	want := []string{"network.import", "network.propose", "network.approve", "network.propose", "network.approve"}
	if !slices.Equal(evs, want) {
		t.Errorf("events about network:pupils = %v, want %v", evs, want)
	}
}

func TestApprovalsNeedTheirApproverAReasonAndAnEnd(t *testing.T) {
	ctx := context.Background()
	f, p := controlled(t, directory.DevicePolicy{})
	until := f.now.AddDate(0, 1, 0)
	dev := directory.Approval{Kind: directory.ApprovalDevice, Device: "AA:BB:CC:DD:EE:FF", Reason: "medical app", Until: until}
	if _, err := f.d.Approve(ctx, "cli:tech", p["dslmember"], p["zpupil"], dev); !errors.Is(err, directory.ErrNotApprover) {
		t.Errorf("a device approved by the DSL: %v, want ErrNotApprover (the head approves devices)", err)
	}
	for name, ap := range map[string]directory.Approval{
		"no reason":  {Kind: directory.ApprovalDevice, Until: until},
		"no end":     {Kind: directory.ApprovalDevice, Reason: "r"},
		"bad MAC":    {Kind: directory.ApprovalDevice, Reason: "r", Until: until, Device: "phone"},
		"no network": {Kind: directory.ApprovalNetwork, Reason: "r", Until: until},
		"no policy":  {Kind: directory.ApprovalPassword, Reason: "r", Until: until, PasswordPolicy: "nonesuch"},
	} {
		if _, err := f.d.Approve(ctx, "cli:tech", p["headteacher"], p["zpupil"], ap); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	got, err := f.d.Approve(ctx, "cli:tech", p["headteacher"], p["zpupil"], dev)
	if err != nil || got.Device != "aa-bb-cc-dd-ee-ff" || got.ApprovedBy != "headteacher" || got.RecordedBy != "cli:tech" {
		t.Fatalf("approve a device: %+v, %v", got, err)
	}
	// A simpler password policy for a pupil with special educational needs.
	before, _ := f.d.PolicyFor(ctx, p["zpupil"])
	pw, err := f.d.Approve(ctx, "cli:tech", p["dslmember"], p["zpupil"], directory.Approval{Kind: directory.ApprovalPassword,
		PasswordPolicy: "pupil-ks1", Reason: "EHCP: reading age 6", Until: until})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := f.d.PolicyFor(ctx, p["zpupil"])
	if after.MinLength >= before.MinLength || after != passwords.DefaultPolicies()["pupil-ks1"] {
		t.Errorf("policy with the exception: %+v, before %+v", after, before)
	}
	if vs, err := f.d.CheckPassword(ctx, p["zpupil"], "red cat"); err != nil || len(vs) > 0 {
		t.Errorf("CheckPassword under the exception: %v, %v", vs, err)
	}
	f.now = until
	if again, _ := f.d.PolicyFor(ctx, p["zpupil"]); again != before {
		t.Errorf("the exception outlived its end: %+v", again)
	}
	f.now = until.Add(-time.Hour)
	if _, err := f.d.RevokeApproval(ctx, "cli:tech", p["zpupil"], pw.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.RevokeApproval(ctx, "cli:tech", p["zpupil"], pw.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
	if again, _ := f.d.PolicyFor(ctx, p["zpupil"]); again != before {
		t.Errorf("the exception outlived its revocation: %+v", again)
	}
	want := []string{"approval.add", "approval.add", "approval.revoke"}
	if evs := eventsAbout(t, f.s, "account:zpupil"); !slices.Equal(evs, want) {
		t.Errorf("events = %v, want %v", evs, want)
	}
}

func TestDecideDevice(t *testing.T) {
	now := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	pol := directory.DevicePolicy{Rules: map[directory.Role]directory.DeviceRule{directory.RolePupil: directory.DeviceApproval,
		directory.RoleGuest: directory.DeviceDeny}, MaxPerPerson: 2}
	phone := "aa-aa-aa-aa-aa-01"
	approved := []directory.Approval{{Kind: directory.ApprovalDevice, Device: phone, CreatedAt: now.Add(-time.Hour), Until: now.Add(time.Hour)}}
	anyDevice := []directory.Approval{{Kind: directory.ApprovalDevice, CreatedAt: now.Add(-time.Hour), Until: now.Add(time.Hour)}}
	two := []directory.Device{{MAC: "aa-aa-aa-aa-aa-08", LastAt: now}, {MAC: "aa-aa-aa-aa-aa-09", LastAt: now}}
	old := []directory.Device{{MAC: "aa-aa-aa-aa-aa-08", LastAt: now.AddDate(0, -6, 0)}, {MAC: "aa-aa-aa-aa-aa-09", LastAt: now}}
	flag := pol
	flag.AtLimit = directory.DeviceAtLimitFlag
	for _, tc := range []struct {
		name      string
		pol       directory.DevicePolicy
		role      directory.Role
		mac       string
		school    bool
		approvals []directory.Approval
		known     []directory.Device
		allow     bool
		reason    directory.Reason
		flag      bool
	}{
		{"staff phone", pol, directory.RoleStaff, phone, false, nil, nil, true, "", false},
		{"pupil phone unapproved", pol, directory.RolePupil, phone, false, nil, nil, false, directory.ReasonDeviceNotApproved, false},
		{"pupil phone approved", pol, directory.RolePupil, phone, false, approved, nil, true, "", false},
		{"pupil other phone", pol, directory.RolePupil, "aa-aa-aa-aa-aa-02", false, approved, nil, false, directory.ReasonDeviceNotApproved, false},
		{"pupil any device", pol, directory.RolePupil, "aa-aa-aa-aa-aa-02", false, anyDevice, nil, true, "", false},
		{"pupil on a school laptop", pol, directory.RolePupil, phone, true, nil, nil, true, "", false},
		{"guest", pol, directory.RoleGuest, phone, false, nil, nil, false, directory.ReasonDeviceNotAllowed, false},
		{"staff third device", pol, directory.RoleStaff, phone, false, nil, two, false, directory.ReasonDeviceLimit, false},
		{"staff third device flagged", flag, directory.RoleStaff, phone, false, nil, two, true, "", true},
		{"staff known device at the limit", pol, directory.RoleStaff, "aa-aa-aa-aa-aa-09", false, nil, two, true, "", false},
		{"a device long unseen does not count", pol, directory.RoleStaff, phone, false, nil, old, true, "", false},
		{"no MAC, staff", pol, directory.RoleStaff, "", false, nil, two, true, "", false},
	} {
		d := tc.pol.DecideDevice(tc.role, tc.mac, tc.school, tc.approvals, tc.known, now)
		if d.Allow != tc.allow || d.Reason != tc.reason || d.Flag != tc.flag {
			t.Errorf("%s: %+v, want allow %v reason %q flag %v", tc.name, d, tc.allow, tc.reason, tc.flag)
		}
		if !d.Allow && d.Message() == "Access allowed." {
			t.Errorf("%s: a refusal without a message", tc.name)
		}
	}
	// The approval ends at its end date.
	if d := pol.DecideDevice(directory.RolePupil, phone, false, approved, nil, now.Add(time.Hour)); d.Allow {
		t.Error("an approval in force after its end")
	}
}

// The access review lists every approval in force and every person with
// a device let on over the limit; removing an approval's row revokes it.
func TestReviewListsExceptionsAndDevicesOverTheLimit(t *testing.T) {
	ctx := context.Background()
	f, p := controlled(t, directory.DevicePolicy{MaxPerPerson: 1, AtLimit: directory.DeviceAtLimitFlag})
	ex, err := f.d.Approve(ctx, "cli:tech", p["dslmember"], p["zpupil"], directory.Approval{Kind: directory.ApprovalPassword,
		PasswordPolicy: "pupil-ks1", Reason: "EHCP", Until: f.now.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	for i, mac := range []string{"aa-aa-aa-aa-aa-01", "aa-aa-aa-aa-aa-02"} {
		if err := f.s.NoteDevice(ctx, p["tech"].ID, mac, f.now, i == 1); err != nil {
			t.Fatal(err)
		}
	}
	// A group the directory's network policies put on a staff VLAN is
	// privileged: its members are reviewed.
	if _, err := f.d.ImportNetworkPolicies(ctx, "config", []directory.NetworkPolicy{{Group: "slt", VLAN: "10"}}); err != nil {
		t.Fatal(err)
	}
	rv, err := f.d.Review(ctx, directory.ReviewPolicy{StaffVLANs: []string{"10"}})
	if err != nil {
		t.Fatal(err)
	}
	var exRow, devRow *directory.ReviewItem
	staffVLAN := false
	for i, it := range rv.Items {
		staffVLAN = staffVLAN || (it.Kind == directory.ReviewPrivileged && it.Group == "slt" && it.Username == "sltmember")
		switch it.Kind {
		case directory.ReviewException:
			exRow = &rv.Items[i]
		case directory.ReviewDeviceLimit:
			devRow = &rv.Items[i]
		}
	}
	if exRow == nil || exRow.Username != "zpupil" || !strings.Contains(exRow.Detail, "password policy pupil-ks1; approved by dslmember") {
		t.Fatalf("exception row: %+v", exRow)
	}
	if devRow == nil || devRow.Username != "tech" || !strings.Contains(devRow.Detail, "2 devices, over the limit of 1") {
		t.Fatalf("device row: %+v", devRow)
	}
	if !staffVLAN {
		t.Errorf("the member of a group on a staff VLAN is not reviewed: %+v", rv.Items)
	}
	var buf bytes.Buffer
	if err := directory.ExportReview(&buf, "csv", rv); err != nil {
		t.Fatal(err)
	}
	// The reviewer fills in the file: revoke the exception, keep the rest.
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, rec := range recs[1:] {
		rec[col["Decision"]], rec[col["Reason"]] = "keep", "fine"
		if rec[0] == string(directory.ReviewException) {
			rec[col["Decision"]], rec[col["Reason"]] = "remove", "no longer needed"
		}
	}
	var filled bytes.Buffer
	if err := csv.NewWriter(&filled).WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	decs, err := directory.ParseReviewCSV(&filled)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.d.RecordReview(ctx, "cli:tech", directory.ReviewRecord{Decisions: decs}); err != nil {
		t.Fatal(err)
	}
	in, err := f.d.ApprovalsInForce(ctx, p["zpupil"], f.now)
	if err != nil || len(in) != 0 {
		t.Errorf("approval %d in force after the review removed it: %v %v", ex.ID, in, err)
	}
	if a, _ := f.s.AccountByUsername(ctx, "zpupil"); a.Status != directory.StatusActive {
		t.Errorf("removing an exception disabled the account")
	}
}

// The subject access export lists a person's approvals and devices, and
// can withhold third parties: who else made each change, who approved, a
// parent's name.
func TestPersonRecordWithholdsThirdParties(t *testing.T) {
	ctx := context.Background()
	f, p := controlled(t, directory.DevicePolicy{})
	pupil := p["zpupil"]
	if _, err := f.d.Approve(ctx, "cli:tech", p["headteacher"], pupil, directory.Approval{Kind: directory.ApprovalDevice,
		Reason: "medical", Until: f.now.AddDate(0, 1, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Suspend(ctx, "user:dslmember", pupil, directory.Suspension{Until: f.now.AddDate(0, 0, 2), Reason: "misuse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.RecordConsent(ctx, "user:tech", pupil, directory.Consent{ParentName: "Mrs Parentname", Relationship: "mother",
		GivenAt: f.now, Method: directory.SignPaper}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.NoteDevice(ctx, pupil.ID, "aa-aa-aa-aa-aa-01", f.now, false); err != nil {
		t.Fatal(err)
	}
	var whole, withheld strings.Builder
	if err := f.d.PersonRecord(ctx, "zpupil", time.UTC, &whole); err != nil {
		t.Fatal(err)
	}
	if err := f.d.PersonRecordWithheld(ctx, "zpupil", time.UTC, &withheld); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"headteacher", "dslmember", "Mrs Parentname", "aa-aa-aa-aa-aa-01", `"approvals"`} {
		if !strings.Contains(whole.String(), want) {
			t.Errorf("the whole record lacks %q", want)
		}
	}
	for _, gone := range []string{"headteacher", "dslmember", "Mrs Parentname", "cli:tech", "user:tech"} {
		if strings.Contains(withheld.String(), gone) {
			t.Errorf("the withheld record still names %q:\n%s", gone, withheld.String())
		}
	}
	for _, kept := range []string{"aa-aa-aa-aa-aa-01", "medical", "mother", `"third_parties"`} {
		if !strings.Contains(withheld.String(), kept) {
			t.Errorf("the withheld record lost %q", kept)
		}
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(withheld.String()), &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
}
