package lifecycle_test

import (
	"bytes"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
)

// A class, registration group or year from the MIS never reaches a role
// group, a group kept by hand, a group of another kind or an account's
// own group: the plan refuses it with its reason and no one joins it.
func TestMISGroupsCannotTakeRoleOrHandKeptGroups(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		f.manual(directory.Account{Username: "tech1", Role: directory.RoleStaff, Source: directory.SourceManual}, "portal-technicians")
		f.manual(directory.Account{Username: "printer", Role: directory.RoleService, Source: directory.SourceManual}, "")
		// A first sync with pupils only: no staff group exists yet, and a
		// class whose code is "Staff" must not make one.
		p1 := pupil("P1", "Jane", "Smith", "8", "8A")
		p1.Classes = []string{"Staff", "Portal Technicians", "Year 7", "8A", "Printer", "8A/Ma1"}
		p := f.plan(bulk(p1, pupil("P2", "John", "Smith", "7", "7A")))
		reasons := map[string]string{}
		for _, g := range p.RefusedGroups {
			reasons[g.Name] = g.Reason
		}
		for name, want := range map[string]string{
			"staff":              "the name of a role group",
			"portal-technicians": "kept by hand",
			"year-7":             "year group",
			"8a":                 "registration group",
			"printer":            "an account's own group",
		} {
			if !strings.Contains(reasons[name], want) {
				t.Errorf("group %s: refusal %q, want it to say %q", name, reasons[name], want)
			}
		}
		for _, g := range p.Groups {
			if g.Name == "staff" || g.Name == "portal-technicians" || g.Name == "printer" {
				t.Errorf("the plan makes group %s (%s) from a class", g.Name, g.Kind)
			}
		}
		var text bytes.Buffer
		if err := p.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text.String(), "refused  ") || !strings.Contains(text.String(), "group staff: Class Staff would be group staff") {
			t.Errorf("the plan does not show the refused group:\n%s", text.String())
		}
		f.apply(p)
		if g := f.groups("P1"); g != "8a,8a-ma1,pupils,year-8" {
			t.Errorf("P1 groups %s", g)
		}
		// Staff arrive later: the staff role group is theirs alone.
		f.sync(bulk(p1, pupil("P2", "John", "Smith", "7", "7A"), staff("S1", "Jim", "Brown")))
		if g := f.groups("P1"); g != "8a,8a-ma1,pupils,year-8" {
			t.Errorf("P1 groups after staff arrive %s", g)
		}
		if g := f.groups("S1"); g != "staff" {
			t.Errorf("S1 groups %s", g)
		}
		if g := f.groups("P2"); g != "7a,pupils,year-7" {
			t.Errorf("P2 groups %s", g)
		}
		staffGroup, err := f.s.GroupByName(t.Context(), "staff")
		if err != nil || staffGroup.Kind != directory.GroupRole {
			t.Errorf("staff group %+v %v", staffGroup, err)
		}
	})
}

// Whatever reaches a plan from the MIS (an id, a class code, a name that
// an older Keystage stored) prints as text: the plan a technician reviews
// holds nothing a terminal would obey.
func TestPlanTextEscapesWhatATerminalObeys(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		r := pupil("P1\x1b]0;owned\x07", "Ada\x1b[2J", "Love\u202elace", "7", "7A")
		r.Classes = []string{"Staff\r\x1b[1A"}
		p := f.plan(bulk(r, pupil("P2", "Jo", "Smith\x00", "7", "7A")))
		var b bytes.Buffer
		if err := p.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, bad := range []string{"\x1b", "\x07", "\x00", "\r", "\u202e"} {
			if strings.Contains(out, bad) {
				t.Errorf("the plan text holds %q:\n%s", bad, out)
			}
		}
		for _, want := range []string{`Ada\x1b[2J`, `Love\u202elace`, `P1\x1b]0;owned\x07`} {
			if !strings.Contains(out, want) {
				t.Errorf("the plan text does not show %s escaped:\n%s", want, out)
			}
		}
	})
}

// Teachers are members of the MIS groups they teach: the classes they are
// enrolled in as teacher, and a form tutor's registration group, as the
// OneRoster reader gives them (homeroom enrolment → RegGroup).
func TestTeachersJoinTheirClassesAndForm(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{})
		tutor := staff("S1", "Siân", "ap Rhys")
		tutor.RegGroup, tutor.Classes = "7A", []string{"7-ma-1"}
		other := staff("S2", "Jim", "Brown")
		other.Classes = []string{"8-en-1"}
		f.sync(bulk(pupil("P1", "Jane", "Smith", "7", "7A"), tutor, other))
		if g := f.groups("S1"); g != "7-ma-1,7a,staff" {
			t.Errorf("tutor's groups %s, want 7-ma-1,7a,staff", g)
		}
		if g := f.groups("S2"); g != "8-en-1,staff" {
			t.Errorf("teacher's groups %s", g)
		}
		g, err := f.s.GroupByName(t.Context(), "7a")
		if err != nil || g.Kind != directory.GroupReg {
			t.Errorf("7a: %+v %v", g, err)
		}
	})
}
