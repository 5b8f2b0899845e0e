package ad_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/downstream"
	"keystage.dev/keystage/downstream/ad"
	"keystage.dev/keystage/downstream/ad/sambatest"
)

// TestSambaScale measures, against a real Samba AD DC, a first apply of
// KEYSTAGE_AD_PEOPLE people (pupils in seven year groups, with their year
// groups), a plan with nothing to do, and a push of as many passwords. It
// logs the times and asserts only that everything arrived; it skips unless
// KEYSTAGE_AD_PEOPLE is set.
func TestSambaScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("KEYSTAGE_AD_PEOPLE"))
	if n <= 0 {
		t.Skip("set KEYSTAGE_AD_PEOPLE=500 to measure")
	}
	dc := sambatest.Start(t)
	admin := dc.Admin(t)
	r := ldap.NewAddRequest("OU=Keystage,"+dc.Base, nil)
	r.Attribute("objectClass", []string{"top", "organizationalUnit"})
	if err := admin.Add(r); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sc := newSchool(t)
	if err := sc.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		groups := map[string]int64{}
		for y := 7; y <= 13; y++ {
			g := directory.Group{Name: fmt.Sprintf("year-%d", y), Kind: directory.GroupYear, Source: directory.SourceMIS}
			if err := tx.CreateGroup(ctx, &g); err != nil {
				return err
			}
			groups[g.Name] = g.ID
		}
		for i := 0; i < n; i++ {
			y := 7 + i%7
			a := directory.Account{Username: fmt.Sprintf("p%05d", i), Role: directory.RolePupil, Source: directory.SourceMIS, MISID: fmt.Sprintf("MIS%05d", i),
				GivenName: "Pupil", FamilyName: fmt.Sprintf("Number%d", i), YearGroup: strconv.Itoa(y)}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			if err := tx.AddMember(ctx, groups[fmt.Sprintf("year-%d", y)], a.ID); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: audit.ActionAccountCreate, Target: "school"})
	}); err != nil {
		t.Fatal(err)
	}
	sy := downstream.NewSync(sc.d, downstream.Config{Name: "ad", Open: func(ctx context.Context) (downstream.Target, error) { return ad.Open(ctx, dc.Config()) }}, nil)
	began := time.Now()
	p := sync1(t, sy, false)
	t.Logf("first apply of %d people: %d changes in %s", n, len(p.Changes), time.Since(began).Round(time.Millisecond))
	began = time.Now()
	p, tg, err := sy.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	tg.Close()
	t.Logf("a plan with nothing to do (%d owned): %d changes in %s", p.Managed, len(p.Changes), time.Since(began).Round(time.Millisecond))
	if p.Managed != n || len(p.Changes) != 0 {
		t.Fatalf("second plan: %d owned, %d changes", p.Managed, len(p.Changes))
	}
	for i := 0; i < n; i++ {
		a := sc.account(t, fmt.Sprintf("p%05d", i))
		if err := sc.d.SetPassword(ctx, "test", a, fmt.Sprintf("Scale-Pass-%05d-Xy", i)); err != nil {
			t.Fatal(err)
		}
	}
	began = time.Now()
	res, err := sy.Push(ctx, "test")
	if err != nil || res.Pushed != n {
		t.Fatalf("push: %+v %v", res, err)
	}
	t.Logf("push of %d passwords: %s", n, time.Since(began).Round(time.Millisecond))
	if ok, out := dc.Kinit(t, fmt.Sprintf("p%05d", n-1), fmt.Sprintf("Scale-Pass-%05d-Xy", n-1)); !ok {
		t.Fatalf("kinit: %s", out)
	}
}
