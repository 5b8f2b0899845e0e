package directory

import (
	"fmt"
	"time"
)

// DeviceRule is whether an audience's personal devices may join the Wi-Fi.
type DeviceRule string

// The rules for personal devices.
const (
	DeviceAllow    DeviceRule = "allow"    // any personal device
	DeviceApproval DeviceRule = "approval" // only with an approval in force (ApprovalDevice)
	DeviceDeny     DeviceRule = "deny"     // none: school devices only
)

// What happens when a person is at the limit of devices and joins from
// another.
const (
	DeviceAtLimitRefuse = "refuse" // the new device is refused
	DeviceAtLimitFlag   = "flag"   // it joins, flagged in the access review
)

// Reasons a personal device is refused (the gate's reasons are in gate.go).
const (
	// ReasonDeviceNotApproved: the audience needs an approval for a
	// personal device and none is in force.
	ReasonDeviceNotApproved Reason = "device-not-approved"
	// ReasonDeviceNotAllowed: the audience may use school devices only.
	ReasonDeviceNotAllowed Reason = "device-not-allowed"
	// ReasonDeviceLimit: the person is at the limit of devices.
	ReasonDeviceLimit Reason = "device-limit"
)

// DevicePolicy are the rules for personal devices on the Wi-Fi. A device is
// known by its MAC address (Calling-Station-Id), as the lockout knows it; a
// device on the register of school devices is nobody's personal device and
// is always let on (the gate's other rules still apply to the account).
// The zero policy lets every device on, without a limit.
type DevicePolicy struct {
	// Rules are per role; a role not named is DeviceAllow.
	Rules map[Role]DeviceRule
	// MaxPerPerson is how many personal devices one person may use (0: no
	// limit), so that a credential is not shared.
	MaxPerPerson int
	// AtLimit is DeviceAtLimitRefuse (the default) or DeviceAtLimitFlag.
	AtLimit string
	// CountFor: a device not seen for this long no longer counts (0: 90
	// days).
	CountFor time.Duration
}

// Enabled reports whether the policy ever refuses or counts a device.
func (p DevicePolicy) Enabled() bool {
	if p.MaxPerPerson > 0 {
		return true
	}
	for _, r := range p.Rules {
		if r != DeviceAllow {
			return true
		}
	}
	return false
}

// Rule is the rule for a role.
func (p DevicePolicy) Rule(r Role) DeviceRule {
	if rule, ok := p.Rules[r]; ok {
		return rule
	}
	return DeviceAllow
}

func (p DevicePolicy) countFor() time.Duration {
	if p.CountFor > 0 {
		return p.CountFor
	}
	return 90 * 24 * time.Hour
}

// DeviceDecision is the answer about one device.
type DeviceDecision struct {
	Allow  bool
	Reason Reason
	// Note: record the device as seen (a personal device let on).
	Note bool
	// Flag: it was let on over the limit (DeviceAtLimitFlag).
	Flag bool
	// Max is the limit, for the message.
	Max int
}

// Message says the decision in words for the person refused.
func (d DeviceDecision) Message() string {
	switch d.Reason {
	case ReasonDeviceNotApproved:
		return "Personal devices need the school's approval before they can join the Wi-Fi: ask your form tutor or the school office."
	case ReasonDeviceNotAllowed:
		return "Personal devices cannot join this Wi-Fi: use a school device."
	case ReasonDeviceLimit:
		return fmt.Sprintf("You already use %d devices on the Wi-Fi, the most allowed (accounts are not to be shared): "+
			"ask the IT office to forget one you no longer use.", d.Max)
	}
	return "Access allowed."
}

// DecideDevice decides whether an account of role may join from mac (""
// when the NAS did not say), given whether mac is a school device, the
// account's approvals and the devices it has joined from. It is a pure
// function.
func (p DevicePolicy) DecideDevice(role Role, mac string, school bool, approvals []Approval, known []Device, now time.Time) DeviceDecision {
	if school {
		return DeviceDecision{Allow: true}
	}
	switch p.Rule(role) {
	case DeviceDeny:
		return DeviceDecision{Reason: ReasonDeviceNotAllowed}
	case DeviceApproval:
		ok := false
		for _, a := range approvals {
			if a.Kind == ApprovalDevice && a.InForce(now) && (a.Device == "" || a.Device == mac) {
				ok = true
				break
			}
		}
		if !ok {
			return DeviceDecision{Reason: ReasonDeviceNotApproved}
		}
	}
	if mac == "" {
		// A NAS that does not say which device: nothing to count.
		return DeviceDecision{Allow: true}
	}
	if p.MaxPerPerson <= 0 {
		return DeviceDecision{Allow: true, Note: p.Enabled()}
	}
	since := now.Add(-p.countFor())
	n := 0
	for _, d := range known {
		if d.MAC == mac {
			return DeviceDecision{Allow: true, Note: true}
		}
		if !d.LastAt.Before(since) {
			n++
		}
	}
	if n < p.MaxPerPerson {
		return DeviceDecision{Allow: true, Note: true}
	}
	if p.AtLimit == DeviceAtLimitFlag {
		return DeviceDecision{Allow: true, Note: true, Flag: true, Max: p.MaxPerPerson}
	}
	return DeviceDecision{Reason: ReasonDeviceLimit, Max: p.MaxPerPerson}
}
