package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// ReviewSection configures the access review (keystage review).
type ReviewSection struct {
	// Every is how often a review is due.
	Every days `toml:"every"`
	// DormantAfter is how long without LDAP, Wi-Fi or portal use makes an
	// account dormant.
	DormantAfter days `toml:"dormant_after"`
	// PrivilegedGroups are reviewed member by member, beside the portal's
	// technician, safeguarding and auditor groups, service accounts and
	// the groups a [[radius.policy]] puts on one of StaffVLANs.
	PrivilegedGroups []string `toml:"privileged_groups"`
	// StaffVLANs are the VLANs that reach staff networks.
	StaffVLANs []string `toml:"staff_vlans"`
}

func defaultReview() ReviewSection {
	return ReviewSection{Every: days{90 * 24 * time.Hour}, DormantAfter: days{60 * 24 * time.Hour}}
}

func (s *ReviewSection) validate(p *problems) {
	if s.Every.Duration < 24*time.Hour {
		p.add("review.every %s: at least 1d", s.Every)
	}
	if s.DormantAfter.Duration < 24*time.Hour {
		p.add("review.dormant_after %s: at least 1d", s.DormantAfter)
	}
}

// reviewPolicy gathers the privileged groups from every section that names
// one.
func (c *Config) reviewPolicy() directory.ReviewPolicy {
	groups := slices.Concat(c.Portal.TechnicianGroups, c.Portal.SafeguardingGroups, c.Portal.AuditorGroups, c.Portal.DataProtectionGroups, c.Review.PrivilegedGroups)
	for _, pol := range c.RADIUS.Policies {
		if pol.VLAN != "" && slices.Contains(c.Review.StaffVLANs, pol.VLAN) {
			groups = append(groups, pol.Group)
		}
	}
	slices.Sort(groups)
	// The network policies the directory holds are weighed too, by the
	// review itself (directory.ReviewPolicy.StaffVLANs).
	return directory.ReviewPolicy{Every: c.Review.Every.Duration, DormantAfter: c.Review.DormantAfter.Duration,
		PrivilegedGroups: slices.Compact(groups), StaffVLANs: c.Review.StaffVLANs}
}

// days reads "90d" as well as Go durations ("2160h") in TOML.
type days struct{ time.Duration }

func (d *days) UnmarshalText(b []byte) error {
	s := string(b)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > 3650 {
			return fmt.Errorf("duration %q: write it like 90d (days, up to 3650d)", s)
		}
		d.Duration = time.Duration(v) * 24 * time.Hour
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: write it like 90d or 2160h", s)
	}
	d.Duration = v
	return nil
}

func (d days) String() string {
	if d.Duration%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d.Duration/(24*time.Hour))) + "d"
	}
	return d.Duration.String()
}

func (d days) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

const exampleReview = `
[review]
# The access review (keystage review, and the portal's review page): access
# given on business need is reviewed this often, and what is no longer
# needed is removed (docs/audit.md).
every = "90d"
dormant_after = "60d"        # an account with no LDAP, Wi-Fi or portal use this long is listed
privileged_groups = []       # reviewed member by member, beside the portal's role groups and service accounts
staff_vlans = []             # groups a [[radius.policy]] puts on one of these VLANs are privileged too
`
