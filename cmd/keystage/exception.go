package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"keystage.dev/keystage/directory"
)

// cmdException: per-person exceptions for vulnerable pupils, to the network
// (VLAN, filter) and to the password policy, approved by a named role with
// an end date.
func cmdException(e *env, args []string) error {
	return dispatch(e, "exception", "exception add NAME (--vlan V | --filter F | --password-policy P) --until DATE --reason TEXT --approver NAME | list [NAME] | revoke NAME ID", args,
		sub{"add", exceptionAdd},
		sub{"list", exceptionList},
		sub{"revoke", func(e *env, args []string) error { return approvalRevoke(e, "exception revoke", args) }})
}

func exceptionAdd(e *env, args []string) error {
	fs := e.newFlags("exception add", "NAME (--vlan V | --filter F | --password-policy P) --until DATE --reason TEXT --approver NAME")
	vlan := fs.String("vlan", "", "the VLAN the person lands on instead of their group's")
	filter := fs.String("filter", "", "the filter (Filter-Id) instead of their group's")
	policy := fs.String("password-policy", "", "the password policy the person follows instead of their role's (built in, or one under [passwords.policy.NAME])")
	ap, approver, name, err := approvalFlags(e, fs, args)
	if err != nil {
		return err
	}
	switch {
	case *policy != "" && (*vlan != "" || *filter != ""):
		return usagef("one exception at a time: --password-policy, or --vlan and --filter")
	case *policy != "":
		ap.Kind, ap.PasswordPolicy = directory.ApprovalPassword, *policy
	case *vlan != "" || *filter != "":
		ap.Kind, ap.VLAN, ap.FilterID = directory.ApprovalNetwork, *vlan, *filter
	default:
		return usagef("say what the exception is: --vlan, --filter or --password-policy")
	}
	return recordApproval(e, name, approver, ap)
}

func exceptionList(e *env, args []string) error {
	fs := e.newFlags("exception list", "[NAME]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	var a directory.Account
	if len(pos) == 1 {
		if a, err = findAccount(e.ctx, s, pos[0]); err != nil {
			return err
		}
	}
	return printApprovals(e, s, a, cfg.Location(), "")
}

// approvalFlags adds the flags every approval has, parses args and checks
// them: one username, an end, a reason and the approver.
func approvalFlags(e *env, fs *flag.FlagSet, args []string) (directory.Approval, string, string, error) {
	until := fs.String("until", "", "the approval ends at this date's midnight, or this time (YYYY-MM-DD[THH:MM], school time zone)")
	reason := fs.String("reason", "", "why (kept with the approval and shown in the access review)")
	approver := fs.String("approver", "", "the username of the person approving, a member of the groups [approvals] names")
	pos, err := parse(fs, args)
	if err != nil {
		return directory.Approval{}, "", "", err
	}
	if len(pos) != 1 {
		return directory.Approval{}, "", "", usagef("want one username")
	}
	if *until == "" || strings.TrimSpace(*reason) == "" || *approver == "" {
		return directory.Approval{}, "", "", usagef("give --until DATE, --reason TEXT and --approver NAME: every approval is recorded with who approved it, why and until when")
	}
	cfg, err := e.config()
	if err != nil {
		return directory.Approval{}, "", "", err
	}
	end, err := parseWhen(*until, cfg.Location())
	if err != nil {
		return directory.Approval{}, "", "", usagef("--until %v", err)
	}
	return directory.Approval{Until: end, Reason: *reason}, *approver, pos[0], nil
}

// recordApproval records ap for the person name, approved by approver.
func recordApproval(e *env, name, approver string, ap directory.Approval) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	s, a, done, err := e.openAccountForChange("record an approval", name)
	if err != nil {
		return err
	}
	defer done()
	by, err := findAccount(e.ctx, s, approver)
	if err != nil {
		return err
	}
	ap, err = e.directory(s).Approve(e.ctx, e.actor(), by, a, ap)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s approval %d for %s recorded (approved by %s) until %s\n", ap.Kind, ap.ID, a.Username, by.Username,
		showWhen(ap.Until, cfg.Location()))
	return nil
}

// printApprovals lists a's approvals (everyone's when a is zero) of kind
// (every kind when empty), those in force and those ended.
func printApprovals(e *env, s directory.Reader, a directory.Account, loc *time.Location, kind directory.ApprovalKind) error {
	aps, err := s.Approvals(e.ctx, a.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	names := map[int64]string{a.ID: a.Username}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPERSON\tKIND\tWHAT\tAPPROVED BY\tUNTIL\tIN FORCE\tREASON")
	for _, ap := range aps {
		if kind != "" && ap.Kind != kind {
			continue
		}
		if _, ok := names[ap.AccountID]; !ok {
			if x, err := s.Account(e.ctx, ap.AccountID); err == nil {
				names[ap.AccountID] = x.Username
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%v\t%s\n", ap.ID, names[ap.AccountID], ap.Kind, approvalWhat(ap), ap.ApprovedBy,
			showWhen(ap.Until, loc), ap.InForce(now), ap.Reason)
	}
	return tw.Flush()
}

// approvalWhat says what an approval allows, in a few words.
func approvalWhat(ap directory.Approval) string {
	switch ap.Kind {
	case directory.ApprovalDevice:
		if ap.Device == "" {
			return "any personal device"
		}
		return "device " + ap.Device
	case directory.ApprovalNetwork:
		return fmt.Sprintf("vlan %s filter %s", dash(ap.VLAN), dash(ap.FilterID))
	case directory.ApprovalPassword:
		return "password policy " + ap.PasswordPolicy
	}
	return string(ap.Kind)
}
