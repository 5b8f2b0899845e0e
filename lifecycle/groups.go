package lifecycle

import (
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
// the role group (staff, pupils), and for pupils year-N, the registration
// group and each teaching class.
func groupsFor(r Record) []NewGroup {
	if r.Role == directory.RoleStaff {
		return append([]NewGroup{{Name: "staff", Kind: directory.GroupRole, Description: "All staff"}}, classGroups(r)...)
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
