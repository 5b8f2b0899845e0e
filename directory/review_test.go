package directory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// reviewFixture: accounts are stamped with the real clock when created, so
// the directory's clock runs 100 days ahead for them to be able to go
// dormant.
func reviewFixture(t *testing.T) (*fixture, directory.ReviewPolicy) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	f.now = time.Now().UTC().Add(100 * 24 * time.Hour).Truncate(time.Second)
	f.account(t, staff("active"), "")
	f.account(t, staff("sleeper"), "")
	f.account(t, staff("tech"), "")
	f.account(t, directory.Account{Username: "svc-print", Role: directory.RoleService}, "")
	f.account(t, directory.Account{Username: "visitor", Role: directory.RoleGuest, GivenName: "Vi", FamilyName: "Sitor"}, "")
	if _, err := f.d.CreateGroup(ctx, "admin", directory.Group{Name: "technicians"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.AddMembers(ctx, "admin", "technicians", []string{"tech"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"active", "tech", "svc-print", "visitor"} {
		a, _ := f.s.AccountByUsername(ctx, u)
		if err := f.s.NoteUse(ctx, a.ID, directory.ServiceWiFi, f.now.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	return f, directory.ReviewPolicy{Every: 90 * 24 * time.Hour, DormantAfter: 60 * 24 * time.Hour,
		PrivilegedGroups: []string{"technicians", "not-made-yet"}}
}

func TestReviewLists(t *testing.T) {
	ctx := context.Background()
	f, p := reviewFixture(t)
	r, err := f.d.Review(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range r.Items {
		got = append(got, string(it.Kind)+":"+it.Group+":"+it.Username)
	}
	want := []string{"dormant::sleeper", "guest::visitor", "privileged::svc-print", "privileged:technicians:tech"}
	if !slices.Equal(got, want) {
		t.Errorf("review lists\n got %v\nwant %v", got, want)
	}
	for _, it := range r.Items {
		if it.Username == "tech" && !it.LastUse.Equal(f.now.Add(-24*time.Hour)) {
			t.Errorf("tech's last use %v", it.LastUse)
		}
		if it.Username == "sleeper" && !it.LastUse.IsZero() {
			t.Errorf("sleeper never used anything, shown %v", it.LastUse)
		}
	}
	if !r.LastReview.IsZero() || !r.NextDue.Equal(f.now) {
		t.Errorf("never reviewed: last %v, next due %v, want due now", r.LastReview, r.NextDue)
	}
}

func TestRecordReview(t *testing.T) {
	ctx := context.Background()
	f, p := reviewFixture(t)
	if err := f.d.RecordReview(ctx, "head", directory.ReviewRecord{Decisions: []directory.ReviewDecision{{Username: "tech"}}}); !errors.Is(err, directory.ErrReviewIncomplete) {
		t.Errorf("decision without a reason: %v, want ErrReviewIncomplete", err)
	}
	if err := f.d.RecordReview(ctx, "head", directory.ReviewRecord{Decisions: []directory.ReviewDecision{{Username: "tecch", Reason: "typo"}}}); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a kept row naming no account: %v, want ErrNotFound", err)
	}
	rec := directory.ReviewRecord{Reviewer: "Ms Head", Notes: "autumn", Decisions: []directory.ReviewDecision{
		{Username: "tech", Reason: "still the technician"},
		{Username: "sleeper", Remove: true, Reason: "left in July"},
		{Username: "tech", Group: "technicians", Remove: true, Reason: "moved to teaching"},
	}}
	if err := f.d.RecordReview(ctx, "head", rec); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.s.AccountByUsername(ctx, "sleeper"); a.Status != directory.StatusDisabled || !strings.Contains(a.DisableReason, "left in July") {
		t.Errorf("sleeper not disabled with the reason: %+v", a)
	}
	g, _ := f.s.GroupByName(ctx, "technicians")
	if m, _ := f.s.Members(ctx, g.ID); len(m) != 0 {
		t.Errorf("technicians still has %v", m)
	}
	if got := eventsAbout(t, f.s, directory.ReviewTarget); !slices.Equal(got, []string{directory.ActionReviewRecord}) {
		t.Errorf("review events %v", got)
	}
	if got := eventsAbout(t, f.s, "account:sleeper"); !slices.Contains(got, "account.disable") {
		t.Errorf("sleeper's events %v", got)
	}
	last, err := f.d.LastReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Reviewer string
		Kept     []directory.ReviewDecision
		Removed  []directory.ReviewDecision
	}
	if err := json.Unmarshal(last.After, &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Reviewer != "Ms Head" || len(snap.Kept) != 1 || len(snap.Removed) != 2 || snap.Removed[0].Reason != "left in July" {
		t.Errorf("recorded %+v", snap)
	}
	r, err := f.d.Review(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !r.LastReview.Equal(f.now) || !r.NextDue.Equal(f.now.Add(p.Every)) || r.LastBy != "head" {
		t.Errorf("after a review: last %v by %q, next due %v", r.LastReview, r.LastBy, r.NextDue)
	}
	for _, it := range r.Items {
		if it.Username == "sleeper" || it.Group == "technicians" {
			t.Errorf("removed access still listed: %+v", it)
		}
	}
}

func TestRecordReviewRefusesMISGroupWhole(t *testing.T) {
	ctx := context.Background()
	f, _ := reviewFixture(t)
	a, _ := f.s.AccountByUsername(ctx, "tech")
	if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		g := directory.Group{Name: "7a-maths", Kind: directory.GroupClass, Source: directory.SourceMIS}
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
			return err
		}
		return f.d.Record(ctx, tx, "test", "group.create", "group:7a-maths", nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	err := f.d.RecordReview(ctx, "head", directory.ReviewRecord{Decisions: []directory.ReviewDecision{
		{Username: "sleeper", Remove: true, Reason: "left"},
		{Username: "tech", Group: "7a-maths", Remove: true, Reason: "no"},
	}})
	if !errors.Is(err, directory.ErrManagedByMIS) {
		t.Fatalf("removal from an MIS group: %v, want ErrManagedByMIS", err)
	}
	if a, _ := f.s.AccountByUsername(ctx, "sleeper"); a.Status != directory.StatusActive {
		t.Error("a refused review still disabled an account")
	}
	if got := eventsAbout(t, f.s, directory.ReviewTarget); len(got) != 0 {
		t.Errorf("a refused review was recorded: %v", got)
	}
}

func TestExportReviewCSV(t *testing.T) {
	ctx := context.Background()
	f, p := reviewFixture(t)
	r, err := f.d.Review(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := directory.ExportReview(&buf, "csv", r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\ufeffReason listed,Username") {
		t.Errorf("no BOM and header: %q", out[:min(len(out), 40)])
	}
	if !strings.Contains(out, "dormant,sleeper,Jo Bloggs,staff,,never") || !strings.Contains(out, "privileged,tech,Jo Bloggs,staff,technicians,") {
		t.Errorf("rows missing:\n%s", out)
	}
	if err := directory.ExportReview(&buf, "pdf", r); err == nil {
		t.Error("pdf accepted")
	}
}

// A review exported as CSV, filled in and read back records what the
// reviewer wrote: the round trip a technician makes in a spreadsheet.
func TestParseReviewCSVRoundTrip(t *testing.T) {
	ctx := context.Background()
	f, p := reviewFixture(t)
	r, err := f.d.Review(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := directory.ExportReview(&buf, "csv", r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if _, err := directory.ParseReviewCSV(strings.NewReader(buf.String())); !errors.Is(err, directory.ErrReviewFile) || !strings.Contains(err.Error(), "line 2 (sleeper)") {
		t.Errorf("blank decisions: %v", err)
	}
	for i := 1; i < len(lines); i++ {
		switch {
		case strings.Contains(lines[i], ",sleeper,"):
			lines[i] = strings.TrimSuffix(lines[i], ",") + `remove,"left, July"`
		case strings.Contains(lines[i], ",tech,"):
			lines[i] = strings.TrimSuffix(lines[i], ",") + "Remove,moved to teaching"
		default:
			lines[i] = strings.TrimSuffix(lines[i], ",") + "keep,needed"
		}
	}
	decs, err := directory.ParseReviewCSV(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]directory.ReviewDecision{}
	for _, d := range decs {
		got[d.Username] = d
	}
	if d := got["sleeper"]; !d.Remove || d.Group != "" || d.Reason != "left, July" {
		t.Errorf("sleeper: %+v", d)
	}
	if d := got["tech"]; !d.Remove || d.Group != "technicians" {
		t.Errorf("tech: %+v", d)
	}
	if d := got["visitor"]; d.Remove || d.Reason != "needed" {
		t.Errorf("visitor: %+v", d)
	}
	if len(decs) != len(r.Items) {
		t.Errorf("%d decisions for %d rows", len(decs), len(r.Items))
	}
	if _, err := directory.ParseReviewCSV(strings.NewReader("Username,Decision\njo,keep\n")); !errors.Is(err, directory.ErrReviewFile) {
		t.Errorf("a file without the review's columns: %v", err)
	}
}

func FuzzParseReviewCSV(f *testing.F) {
	f.Add("\ufeffReason listed,Username,Name,Role,Group,Last use (UTC),Decision,Reason\nprivileged,tech,Jo,staff,technicians,never,remove,gone\n")
	f.Add("Reason listed,Username,Group,Decision,Reason\n\"a,\"b\n")
	f.Fuzz(func(t *testing.T, in string) {
		decs, err := directory.ParseReviewCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, d := range decs {
			if d.Username == "" || d.Reason == "" {
				t.Fatalf("decision without a username or reason: %+v", d)
			}
		}
	})
}
