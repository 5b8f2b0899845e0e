package ad

import (
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/downstream"
)

// Where each person and group goes, with the placeholders filled and DN
// specials escaped; two spellings of one DN compare equal.
func TestLayout(t *testing.T) {
	tg := &Target{cfg: Config{OU: "OU=Keystage,DC=school,DC=internal", School: "St Mary's, Upper",
		SchoolNames: map[string]string{"north": "Northgate Academy"},
		OUs:         map[directory.Role]string{directory.RolePupil: "OU=Year {year},OU=Pupils,OU={school}", directory.RoleStaff: "OU=Staff"},
		GroupsOU:    "OU=Groups,OU={school}"}}
	for _, tc := range []struct {
		e    downstream.Entry
		want string
	}{
		{downstream.Entry{Username: "25asmith", Role: directory.RolePupil, YearGroup: "7"}, `CN=25asmith,OU=Year 7,OU=Pupils,OU=St Mary's\, Upper,OU=Keystage,DC=school,DC=internal`},
		{downstream.Entry{Username: "25bnone", Role: directory.RolePupil}, `CN=25bnone,OU=Year none,OU=Pupils,OU=St Mary's\, Upper,OU=Keystage,DC=school,DC=internal`},
		{downstream.Entry{Username: "jteacher", Role: directory.RoleStaff}, "CN=jteacher,OU=Staff,OU=Keystage,DC=school,DC=internal"},
		{downstream.Entry{Username: "svc", Role: directory.RoleService}, "CN=svc,OU=Keystage,DC=school,DC=internal"},
		// In a trust each school's pupils are under their school's name.
		{downstream.Entry{Username: "25cnorth", Role: directory.RolePupil, YearGroup: "8", School: "north"}, `CN=25cnorth,OU=Year 8,OU=Pupils,OU=Northgate Academy,OU=Keystage,DC=school,DC=internal`},
		{downstream.Entry{Username: "25dnowhere", Role: directory.RolePupil, YearGroup: "8", School: "gone"}, `CN=25dnowhere,OU=Year 8,OU=Pupils,OU=St Mary's\, Upper,OU=Keystage,DC=school,DC=internal`},
	} {
		if got := tg.dnOf(tc.e); got != tc.want {
			t.Errorf("dn of %s = %s, want %s", tc.e.Username, got, tc.want)
		}
		if !tg.inOU(tc.want) {
			t.Errorf("%s is not inside the OU", tc.want)
		}
	}
	if got := tg.groupDN("year-7"); got != `CN=year-7,OU=Groups,OU=St Mary's\, Upper,OU=Keystage,DC=school,DC=internal` {
		t.Errorf("group dn = %s", got)
	}
	if canon("CN=a, OU=Year 7,dc=School,DC=internal") != canon("cn=A,ou=year 7,DC=school,dc=Internal") {
		t.Error("two spellings of one DN differ")
	}
	if tg.inOU("OU=Keystage,DC=school,DC=internal") || tg.inOU("CN=x,OU=Other,DC=school,DC=internal") || tg.inOU("CN=x,OU=NotKeystage,DC=school,DC=internal") {
		t.Error("inOU takes the OU itself or what is beside it")
	}
	if got := dnsName("DC=School,DC=internal"); got != "school.internal" {
		t.Errorf("dnsName = %q", got)
	}
	if got := unicodePwd("aé"); got != "\"\x00a\x00\xe9\x00\"\x00" {
		t.Errorf("unicodePwd = %q", got)
	}
}
