package lifecycle

import (
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
)

// NewGroup is a group a plan creates, owned by the MIS.
type NewGroup struct {
	Name        string              `json:"name"`
	Kind        directory.GroupKind `json:"kind"`
	MISID       string              `json:"mis_id,omitempty"`
	Description string              `json:"description,omitempty"`
}

// groupName makes an MIS code a group name the way the demo school's
// groups are named (7A → 7a, "10 Blue" → 10-blue), so that LDAP and RADIUS
// group policies written against the demo keep working.
func groupName(code string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(strings.TrimSpace(code)) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_':
			b.WriteRune(c)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// groupsFor are the MIS groups a record belongs in, by the demo's scheme:
// the role group (staff, pupils), for pupils year-N, the registration group
// (a form tutor's too) and each teaching class (its teachers' too).
func groupsFor(r Record) []NewGroup {
	if r.Role == directory.RoleStaff {
		out := []NewGroup{{Name: "staff", Kind: directory.GroupRole, Description: "All staff"}}
		// A form tutor: the MIS enrols the teacher in the registration
		// group (OneRoster: a homeroom enrolment of role teacher), and the
		// teacher's portal page lists the groups the teacher is in.
		if g := groupName(r.RegGroup); g != "" {
			out = append(out, NewGroup{Name: g, Kind: directory.GroupReg, Description: "Registration group " + r.RegGroup})
		}
		return append(out, classGroups(r)...)
	}
	if r.Role != directory.RolePupil {
		return classGroups(r)
	}
	out := []NewGroup{{Name: "pupils", Kind: directory.GroupRole, Description: "All pupils"}}
	if y := groupName(r.YearGroup); y != "" {
		out = append(out, NewGroup{Name: "year-" + y, Kind: directory.GroupYear, Description: "Year " + r.YearGroup})
	}
	if g := groupName(r.RegGroup); g != "" {
		out = append(out, NewGroup{Name: g, Kind: directory.GroupReg, Description: "Registration group " + r.RegGroup})
	}
	return append(out, classGroups(r)...)
}

func classGroups(r Record) []NewGroup {
	var out []NewGroup
	for _, c := range r.Classes {
		if n := groupName(c); n != "" {
			out = append(out, NewGroup{Name: n, Kind: directory.GroupClass, MISID: c, Description: "Class " + c})
		}
	}
	return out
}

// GroupRefusal is a group from the MIS that the plan will not make or join,
// with the reason.
type GroupRefusal struct {
	Name   string              `json:"name"`
	Kind   directory.GroupKind `json:"kind"`
	From   string              `json:"from"` // what the MIS called it: "Class Staff"
	Reason string              `json:"reason"`
}

// groupClash says why the MIS may not make or join group g, or "" when it
// may. Groups from the MIS live in their own namespace: the MIS reaches a
// group only when it is the MIS's own group of the same kind. A class whose
// code is "Staff" would otherwise join the staff role group and carry a
// pupil onto the staff VLAN; one called "Portal technicians" would grant a
// portal role; one named after an account would take that account's own
// POSIX group.
func (st *state) groupClash(g NewGroup, planned map[string]NewGroup) string {
	refused := func(why string) string {
		return fmt.Sprintf("%s would be group %s, %s: refused, no one joins it; rename it in the MIS", g.Description, g.Name, why)
	}
	if g.Kind != directory.GroupRole && directory.RoleGroupName(g.Name) {
		return refused("the name of a role group")
	}
	if have, ok := st.groups[g.Name]; ok {
		switch {
		case have.Source != directory.SourceMIS:
			return refused("which is kept by hand")
		case have.Kind != g.Kind:
			return refused(fmt.Sprintf("which is a %s group", kindWord(have.Kind)))
		}
		return ""
	}
	if p, ok := planned[g.Name]; ok && p.Kind != g.Kind {
		return refused(fmt.Sprintf("which this sync makes as a %s group for %s", kindWord(p.Kind), p.Description))
	}
	if g.Kind != directory.GroupRole && st.names[g.Name] {
		return refused("the name of an account's own group")
	}
	return ""
}

// kindRank orders the kinds of MIS group by which keeps a contested name.
func kindRank(k directory.GroupKind) int {
	switch k {
	case directory.GroupRole:
		return 0
	case directory.GroupYear:
		return 1
	case directory.GroupReg:
		return 2
	}
	return 3
}

func kindWord(k directory.GroupKind) string {
	switch k {
	case directory.GroupReg:
		return "registration"
	case directory.GroupCustom:
		return "hand-kept"
	}
	return string(k)
}
