package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrRoleRequired is returned when a change needs a staff role (say,
// safeguarding) that the person asking does not hold.
var ErrRoleRequired = errors.New("a staff role is required")

// The staff roles the directory itself checks, by name: the portal grants
// them through groups kept by hand, and commands through the account
// named by the actor.
const (
	StaffRoleSafeguarding   = "safeguarding"
	StaffRoleDataProtection = "data-protection"
)

// StaffRolesOf gives the staff roles account a holds through its groups,
// roleGroups naming each role's groups. As in the portal, only staff hold
// roles, and only through groups kept by hand: nothing the MIS sends can
// make a role.
func StaffRolesOf(ctx context.Context, r Reader, a Account, roleGroups map[string][]string) ([]string, error) {
	if a.Role != RoleStaff || len(roleGroups) == 0 {
		return nil, nil
	}
	groups, err := r.GroupsOf(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("staff roles of %s: %w", a.Username, err)
	}
	var roles []string
	for role, names := range roleGroups {
		for _, g := range groups {
			if g.Source == SourceManual && slices.Contains(names, g.Name) {
				roles = append(roles, role)
				break
			}
		}
	}
	slices.Sort(roles)
	return roles, nil
}
