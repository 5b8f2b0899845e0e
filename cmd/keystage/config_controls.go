package main

import (
	"time"

	"keystage.dev/keystage/directory"
)

// ApprovalsSection names the groups whose members decide what the school's
// policies leave to a named role (docs/policy-controls.md).
type ApprovalsSection struct {
	// FilteringGroups approve a proposed change to the mapping of groups
	// to VLANs and filters (keystage filter approve).
	FilteringGroups []string `toml:"filtering_groups"`
	// DeviceGroups approve a personal device for a person whose audience
	// needs an approval ([devices]).
	DeviceGroups []string `toml:"device_groups"`
	// ExceptionGroups approve an exception to the network or the password
	// policy for one person (a vulnerable pupil).
	ExceptionGroups []string `toml:"exception_groups"`
}

// DevicesSection is the rules for personal devices on the Wi-Fi.
type DevicesSection struct {
	// Staff, Pupils and Guests: "allow", "approval" or "deny".
	Staff  string `toml:"staff"`
	Pupils string `toml:"pupils"`
	Guests string `toml:"guests"`
	// MaxPerPerson is how many devices one person may use (0: no limit).
	MaxPerPerson int `toml:"max_per_person"`
	// AtLimit is "refuse" or "flag".
	AtLimit string `toml:"at_limit"`
	// CountFor: a device not seen this long no longer counts.
	CountFor days `toml:"count_for"`
}

func defaultApprovals() ApprovalsSection {
	return ApprovalsSection{FilteringGroups: []string{"portal-senior-leaders"}, DeviceGroups: []string{"portal-senior-leaders"},
		ExceptionGroups: []string{"portal-safeguarding"}}
}

func defaultDevices() DevicesSection {
	return DevicesSection{Staff: "allow", Pupils: "allow", Guests: "allow", AtLimit: directory.DeviceAtLimitRefuse, CountFor: days{90 * 24 * time.Hour}}
}

func (s *ApprovalsSection) validate(p *problems) {
	for name, gs := range map[string][]string{"filtering_groups": s.FilteringGroups, "device_groups": s.DeviceGroups, "exception_groups": s.ExceptionGroups} {
		for _, g := range gs {
			if directory.ValidUsername(g) != nil {
				p.add("approvals.%s: %q is not a group name", name, g)
			}
		}
	}
}

func (s *DevicesSection) validate(p *problems) {
	for name, r := range map[string]string{"staff": s.Staff, "pupils": s.Pupils, "guests": s.Guests} {
		if !oneOf(r, string(directory.DeviceAllow), string(directory.DeviceApproval), string(directory.DeviceDeny)) {
			p.add("devices.%s %q: use allow, approval (an approval in force, keystage device approve) or deny (school devices only)", name, r)
		}
	}
	if s.MaxPerPerson < 0 || s.MaxPerPerson > 100 {
		p.add("devices.max_per_person %d: 0 (no limit) to 100", s.MaxPerPerson)
	}
	if !oneOf(s.AtLimit, directory.DeviceAtLimitRefuse, directory.DeviceAtLimitFlag) {
		p.add("devices.at_limit %q: use refuse (the new device is refused) or flag (let on, and listed in the access review)", s.AtLimit)
	}
	if s.CountFor.Duration < 24*time.Hour {
		p.add("devices.count_for %s: at least 1d", s.CountFor)
	}
}

// controls are the directory's rules that name people, from [approvals]
// and [devices].
func (c *Config) controls() directory.Controls {
	d := c.Devices
	return directory.Controls{
		FilteringApprovers: c.Approvals.FilteringGroups,
		DeviceApprovers:    c.Approvals.DeviceGroups,
		ExceptionApprovers: c.Approvals.ExceptionGroups,
		Devices: directory.DevicePolicy{
			Rules: map[directory.Role]directory.DeviceRule{directory.RoleStaff: directory.DeviceRule(d.Staff),
				directory.RolePupil: directory.DeviceRule(d.Pupils), directory.RoleGuest: directory.DeviceRule(d.Guests)},
			MaxPerPerson: d.MaxPerPerson, AtLimit: d.AtLimit, CountFor: d.CountFor.Duration,
		},
	}
}

const exampleControls = `
[approvals]
# Who decides what the school's policies leave to a named role
# (docs/policy-controls.md). Each is a list of groups; create them with
# keystage group add and add the people.
# A change to the filtering (the mapping of groups to VLANs and filters) is
# proposed with a risk note and takes effect once one of these approves it.
filtering_groups = ["portal-senior-leaders"]
# A personal device for someone whose audience needs an approval ([devices]).
device_groups = ["portal-senior-leaders"]
# An exception for one person: another VLAN or filter, a simpler password policy.
exception_groups = ["portal-safeguarding"]

[devices]
# Personal devices on the Wi-Fi, per audience: "allow"; "approval" (only with
# an approval in force, with its end date: keystage device approve); or "deny"
# (school devices only). A school device is one on the register (keystage
# device register MAC); devices are known by their MAC (Calling-Station-Id).
# A policy that keeps pupils' phones out unless the Headteacher approves:
# pupils = "approval".
staff = "allow"
pupils = "allow"
guests = "allow"
# Devices one person may use (0: no limit): sharing of IDs is not permitted.
max_per_person = 0
# At the limit: "refuse" the new device, or "flag" it (let on, and listed in
# the access review).
at_limit = "refuse"
# A device not seen this long no longer counts towards the limit.
count_for = "90d"
`
