package directory

import "fmt"

// GroupKind says what a group stands for.
type GroupKind string

// The kinds of group.
const (
	GroupRole   GroupKind = "role"   // staff, pupils, guests
	GroupYear   GroupKind = "year"   // year-7
	GroupReg    GroupKind = "reg"    // registration group 7A
	GroupClass  GroupKind = "class"  // a teaching class from the MIS
	GroupCustom GroupKind = "custom" // made by hand
)

// Group is a set of accounts, published as posixGroup and groupOfNames.
type Group struct {
	ID          int64
	Name        string // cn, unique
	Kind        GroupKind
	Source      Source
	MISID       string // for classes from the MIS
	Description string
	GIDNumber   int64 // allocated once, never reused
}

// Validate reports what is wrong with g before it is stored.
func (g Group) Validate() error {
	if err := ValidUsername(g.Name); err != nil {
		return fmt.Errorf("group name: %w", err)
	}
	switch g.Kind {
	case GroupRole, GroupYear, GroupReg, GroupClass, GroupCustom:
	default:
		return fmt.Errorf("group %s: unknown kind %q", g.Name, g.Kind)
	}
	switch g.Source {
	case SourceMIS, SourceManual:
	default:
		return fmt.Errorf("group %s: unknown source %q", g.Name, g.Source)
	}
	return nil
}

// RoleGroupName reports whether name is the name of a role group (staff,
// pupils, guests). These names belong to the roles whatever groups exist
// today: no class, registration group or year from the MIS may take one,
// even on a first sync before the role group is made, because RADIUS
// policy (VLAN, Filter-Id) and the portal read privilege from them.
func RoleGroupName(name string) bool {
	switch name {
	case "staff", "pupils", "guests":
		return true
	}
	return false
}
