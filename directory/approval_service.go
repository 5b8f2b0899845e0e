package directory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// ApprovalSnapshot is what an audit event records of an approval.
type ApprovalSnapshot struct {
	ID             int64        `json:"id"`
	Kind           ApprovalKind `json:"kind"`
	Device         string       `json:"device,omitempty"`
	VLAN           string       `json:"vlan,omitempty"`
	FilterID       string       `json:"filter_id,omitempty"`
	PasswordPolicy string       `json:"password_policy,omitempty"`
	Reason         string       `json:"reason"`
	ApprovedBy     string       `json:"approved_by"`
	Until          time.Time    `json:"until"`
	RevokedBy      string       `json:"revoked_by,omitempty"`
}

func approvalSnapshot(a Approval) ApprovalSnapshot {
	return ApprovalSnapshot{ID: a.ID, Kind: a.Kind, Device: a.Device, VLAN: a.VLAN, FilterID: a.FilterID, PasswordPolicy: a.PasswordPolicy,
		Reason: a.Reason, ApprovedBy: a.ApprovedBy, Until: a.Until, RevokedBy: a.RevokedBy}
}

// Approve records an approval for a: a personal device (ApprovalDevice),
// or an exception to the network or the password policy. by is the person
// approving, a member of the groups Controls names for the kind; actor is
// who records it. It needs a reason and an end in the future.
func (d *Directory) Approve(ctx context.Context, actor string, by, a Account, ap Approval) (Approval, error) {
	now := d.Now()
	ap.Reason = strings.TrimSpace(ap.Reason)
	if _, ok := ParseApprovalKind(string(ap.Kind)); !ok {
		return ap, fmt.Errorf("approve for %s: %w", a.Username, invalid("Say what is approved: %s, %s or %s.", ApprovalDevice, ApprovalNetwork, ApprovalPassword))
	}
	switch {
	case ap.Reason == "":
		return ap, fmt.Errorf("approve for %s: %w", a.Username, invalid("Give a reason: it is kept with the approval and shown in the access review."))
	case !ap.Until.After(now):
		return ap, fmt.Errorf("approve for %s: %w", a.Username, invalid("Give an end date in the future: every approval ends, and is renewed if still needed."))
	}
	switch ap.Kind {
	case ApprovalDevice:
		ap.VLAN, ap.FilterID, ap.PasswordPolicy = "", "", ""
		if ap.Device != "" {
			mac, ok := NormalMAC(ap.Device)
			if !ok {
				return ap, fmt.Errorf("approve for %s: %w", a.Username, invalid("%q is not a MAC address: write it like aa:bb:cc:dd:ee:ff, or leave it out for any of the person's devices.", ap.Device))
			}
			ap.Device = mac
		}
	case ApprovalNetwork:
		ap.Device, ap.PasswordPolicy = "", ""
		if ap.VLAN == "" && ap.FilterID == "" {
			return ap, fmt.Errorf("approve for %s: %w", a.Username, invalid("Give the VLAN or the filter the person is to have instead of their group's."))
		}
		if len(ap.VLAN) > 253 || len(ap.FilterID) > 253 {
			return ap, fmt.Errorf("approve for %s: %w", a.Username, invalid("The VLAN and filter are at most 253 bytes each."))
		}
	case ApprovalPassword:
		ap.Device, ap.VLAN, ap.FilterID = "", "", ""
		if _, ok := d.policies[ap.PasswordPolicy]; !ok {
			return ap, fmt.Errorf("approve for %s: %w", a.Username, invalid("%q is not a password policy: name a built-in policy (staff, pupil-ks2, pupil-ks1, guest) or one under [passwords.policy.NAME].", ap.PasswordPolicy))
		}
	}
	ap.ID, ap.AccountID, ap.ApprovedBy, ap.RecordedBy, ap.CreatedAt, ap.RevokedAt, ap.RevokedBy = 0, a.ID, by.Username, actor, now, time.Time{}, ""
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := d.checkApprover(ctx, tx, by, d.controls.approvers(ap.Kind), "a "+string(ap.Kind)+" approval"); err != nil {
			return err
		}
		if err := tx.AddApproval(ctx, &ap); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionApprovalAdd, audit.AccountTarget(a.Username), nil, approvalSnapshot(ap))
	})
	if err != nil {
		return ap, fmt.Errorf("approve for %s: %w", a.Username, err)
	}
	return ap, nil
}

// RevokeApproval ends approval id of a now. ErrNotFound when a has no such
// approval in force.
func (d *Directory) RevokeApproval(ctx context.Context, actor string, a Account, id int64) (Approval, error) {
	now := d.Now()
	var out Approval
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		all, err := tx.Approvals(ctx, a.ID)
		if err != nil {
			return err
		}
		found := false
		for _, ap := range all {
			found = found || (ap.ID == id && ap.InForce(now))
		}
		if !found {
			return fmt.Errorf("approval %d of %s in force: %w", id, a.Username, ErrNotFound)
		}
		var before Approval
		for _, ap := range all {
			if ap.ID == id {
				before = ap
			}
		}
		out, err = tx.UpdateApproval(ctx, id, func(x *Approval) error { x.RevokedAt, x.RevokedBy = now, actor; return nil })
		if err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionApprovalRevoke, audit.AccountTarget(a.Username), approvalSnapshot(before), approvalSnapshot(out))
	})
	if err != nil {
		return out, fmt.Errorf("revoke approval for %s: %w", a.Username, err)
	}
	return out, nil
}

// ApprovalsInForce lists a's approvals in force at t.
func (d *Directory) ApprovalsInForce(ctx context.Context, a Account, t time.Time) ([]Approval, error) {
	all, err := d.store.Approvals(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var out []Approval
	for _, ap := range all {
		if ap.InForce(t) {
			out = append(out, ap)
		}
	}
	return out, nil
}

// NetworkException is the exception to the network in force in
// approvals at t, the latest approved when there are several.
func NetworkException(approvals []Approval, t time.Time) (Approval, bool) {
	var out Approval
	ok := false
	for _, ap := range approvals {
		if ap.Kind == ApprovalNetwork && ap.InForce(t) && (!ok || ap.ID > out.ID) {
			out, ok = ap, true
		}
	}
	return out, ok
}

// PolicyFor is the password policy a follows now: an exception in force
// (ApprovalPassword) before the policy its role and year give (Policy).
func (d *Directory) PolicyFor(ctx context.Context, a Account) (passwords.Policy, error) {
	if a.ID == 0 {
		return d.Policy(a), nil
	}
	all, err := d.ApprovalsInForce(ctx, a, d.Now())
	if err != nil {
		return passwords.Policy{}, fmt.Errorf("password policy of %s: %w", a.Username, err)
	}
	var pick Approval
	for _, ap := range all {
		if ap.Kind == ApprovalPassword && (pick.ID == 0 || ap.ID > pick.ID) {
			pick = ap
		}
	}
	if p, ok := d.policies[pick.PasswordPolicy]; ok && pick.ID != 0 {
		return p, nil
	}
	return d.Policy(a), nil
}

// RegisterSchoolDevice puts a device the school owns on the register (or
// relabels it): it is nobody's personal device.
func (d *Directory) RegisterSchoolDevice(ctx context.Context, actor, mac, label string) (SchoolDevice, error) {
	m, ok := NormalMAC(mac)
	if !ok {
		return SchoolDevice{}, fmt.Errorf("register school device: %w", invalid("%q is not a MAC address: write it like aa:bb:cc:dd:ee:ff.", mac))
	}
	sd := SchoolDevice{MAC: m, Label: strings.TrimSpace(label), AddedBy: actor, AddedAt: d.Now()}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.PutSchoolDevice(ctx, &sd); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionSchoolDeviceAdd, audit.Target(audit.KindDevice, m), nil, map[string]any{"label": sd.Label})
	})
	if err != nil {
		return sd, fmt.Errorf("register school device %s: %w", m, err)
	}
	return sd, nil
}

// RegisterSchoolDevices puts many devices on the register in one
// transaction, an audit event each (a list from the wireless controller or
// the asset register, see ParseSchoolDevices), and returns how many.
func (d *Directory) RegisterSchoolDevices(ctx context.Context, actor string, ds []SchoolDevice) (int, error) {
	now := d.Now()
	for i := range ds {
		m, ok := NormalMAC(ds[i].MAC)
		if !ok {
			return 0, fmt.Errorf("register school devices: %w", invalid("%q is not a MAC address: write it like aa:bb:cc:dd:ee:ff.", ds[i].MAC))
		}
		ds[i] = SchoolDevice{MAC: m, Label: strings.TrimSpace(ds[i].Label), AddedBy: actor, AddedAt: now}
	}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		for i := range ds {
			if err := tx.PutSchoolDevice(ctx, &ds[i]); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionSchoolDeviceAdd, audit.Target(audit.KindDevice, ds[i].MAC), nil,
				map[string]any{"label": ds[i].Label}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("register school devices: %w", err)
	}
	return len(ds), nil
}

// RemoveSchoolDevice takes a device off the register.
func (d *Directory) RemoveSchoolDevice(ctx context.Context, actor, mac string) error {
	m, ok := NormalMAC(mac)
	if !ok {
		return fmt.Errorf("remove school device: %w", invalid("%q is not a MAC address: write it like aa:bb:cc:dd:ee:ff.", mac))
	}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.DeleteSchoolDevice(ctx, m); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionSchoolDeviceRemove, audit.Target(audit.KindDevice, m), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("remove school device %s: %w", m, err)
	}
	return nil
}

// ForgetDevice forgets that a joined from mac, so that it no longer counts
// towards the limit of devices (a phone replaced).
func (d *Directory) ForgetDevice(ctx context.Context, actor string, a Account, mac string) error {
	m, ok := NormalMAC(mac)
	if !ok {
		return fmt.Errorf("forget device: %w", invalid("%q is not a MAC address: write it like aa:bb:cc:dd:ee:ff.", mac))
	}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.ForgetDevice(ctx, a.ID, m); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionDeviceForget, audit.AccountTarget(a.Username), map[string]any{"device": m}, nil)
	})
	if err != nil {
		return fmt.Errorf("forget device %s of %s: %w", m, a.Username, err)
	}
	return nil
}
