package directory

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// The access review lists, besides dormant, privileged and guest accounts,
// what the school's policies let one person have by exception: every
// approval in force (a personal device, another VLAN or filter, another
// password policy), and every person who joined the Wi-Fi from a device
// let on over the limit of devices (DeviceAtLimitFlag). Removing an
// approval's row revokes the approval; removing a device row disables the
// account, as for a dormant one (sharing of accounts is not permitted).

// The kinds of review entry the controls add.
const (
	ReviewException   ReviewKind = "exception"
	ReviewDeviceLimit ReviewKind = "device-limit"
)

// approvalGroup is how an approval's row names it in the Group column.
func approvalGroup(id int64) string { return "approval " + strconv.FormatInt(id, 10) }

// exportGroup is a row's Group column in the exported review: for an
// exception or a device row, what it allows follows (the file keeps its
// columns, so that the Decision and Reason filled in read back).
func exportGroup(it ReviewItem) string {
	switch {
	case it.Detail == "":
		return it.Group
	case it.Group == "":
		return it.Detail
	}
	return it.Group + ": " + it.Detail
}

// ApprovalOfGroup reads an approval's id back from a review row's Group
// column, "approval N" or "approval N: what it allows" (0 when it names
// none).
func ApprovalOfGroup(group string) int64 {
	n, ok := strings.CutPrefix(group, "approval ")
	if !ok {
		return 0
	}
	n, _, _ = strings.Cut(n, ":")
	id, err := strconv.ParseInt(n, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// ApprovalSummary says what an approval allows, by whom, until when and
// why, in a line.
func ApprovalSummary(ap Approval) string {
	var what string
	switch ap.Kind {
	case ApprovalDevice:
		what = "personal device " + ap.Device
		if ap.Device == "" {
			what = "any personal device"
		}
	case ApprovalNetwork:
		what = "network: vlan " + ap.VLAN + " filter " + ap.FilterID
	case ApprovalPassword:
		what = "password policy " + ap.PasswordPolicy
	}
	return fmt.Sprintf("%s; approved by %s until %s: %s", what, ap.ApprovedBy, ap.Until.UTC().Format("2006-01-02 15:04"), ap.Reason)
}

// reviewControls are the review's rows for approvals in force and devices
// over the limit.
func (d *Directory) reviewControls(ctx context.Context, now time.Time, lastUse func(Account) (time.Time, error)) ([]ReviewItem, error) {
	var out []ReviewItem
	aps, err := d.store.Approvals(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, ap := range aps {
		if !ap.InForce(now) {
			continue
		}
		a, err := d.store.Account(ctx, ap.AccountID)
		if err != nil {
			return nil, err
		}
		last, err := lastUse(a)
		if err != nil {
			return nil, err
		}
		out = append(out, ReviewItem{Kind: ReviewException, Username: a.Username, Name: a.Name(), Role: a.Role, Group: approvalGroup(ap.ID),
			Detail: ApprovalSummary(ap), LastUse: last})
	}
	devs, err := d.store.Devices(ctx, 0)
	if err != nil {
		return nil, err
	}
	since := now.Add(-d.controls.Devices.countFor())
	byAccount := map[int64][]string{}
	flagged := map[int64]bool{}
	var order []int64
	for _, dv := range devs {
		if dv.LastAt.Before(since) {
			continue
		}
		if _, seen := byAccount[dv.AccountID]; !seen {
			order = append(order, dv.AccountID)
		}
		byAccount[dv.AccountID] = append(byAccount[dv.AccountID], dv.MAC)
		flagged[dv.AccountID] = flagged[dv.AccountID] || dv.Flagged
	}
	for _, id := range order {
		if !flagged[id] {
			continue
		}
		a, err := d.store.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		last, err := lastUse(a)
		if err != nil {
			return nil, err
		}
		out = append(out, ReviewItem{Kind: ReviewDeviceLimit, Username: a.Username, Name: a.Name(), Role: a.Role, LastUse: last,
			Detail: fmt.Sprintf("%d devices, over the limit of %d: %s", len(byAccount[id]), d.controls.Devices.MaxPerPerson, strings.Join(byAccount[id], ", "))})
	}
	return out, nil
}

// revokeInReview revokes the approval a review removed, in the review's
// transaction.
func (d *Directory) revokeInReview(ctx context.Context, tx Tx, actor string, a Account, id int64, reason string) error {
	all, err := tx.Approvals(ctx, a.ID)
	if err != nil {
		return err
	}
	now := d.Now()
	for _, ap := range all {
		if ap.ID != id {
			continue
		}
		if !ap.InForce(now) {
			return nil // ended or revoked since the list was drawn
		}
		after, err := tx.UpdateApproval(ctx, id, func(x *Approval) error { x.RevokedAt, x.RevokedBy = now, actor; return nil })
		if err != nil {
			return err
		}
		snap := approvalSnapshot(after)
		return d.Record(ctx, tx, actor, audit.ActionApprovalRevoke, audit.AccountTarget(a.Username), approvalSnapshot(ap),
			map[string]any{"approval": snap, "reason": "access review: " + reason})
	}
	return fmt.Errorf("approval %d of %s: %w", id, a.Username, ErrNotFound)
}

// privilegedGroups are the policy's privileged groups and those the
// network policies in force put on a staff VLAN, sorted, once each.
func (d *Directory) privilegedGroups(ctx context.Context, p ReviewPolicy) ([]string, error) {
	out := slices.Clone(p.PrivilegedGroups)
	if len(p.StaffVLANs) > 0 {
		all, err := d.store.NetworkPolicies(ctx)
		if err != nil {
			return nil, err
		}
		for _, np := range NetworkPoliciesInForce(all) {
			if np.VLAN != "" && np.Group != "*" && slices.Contains(p.StaffVLANs, np.VLAN) {
				out = append(out, np.Group)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
