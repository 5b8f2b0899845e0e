package main

import (
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
)

// cmdDevice: the register of school devices, approvals of personal
// devices, and the devices each person joined the Wi-Fi from.
func cmdDevice(e *env, args []string) error {
	return dispatch(e, "device", "device register MAC [--label L] | unregister MAC | list [NAME] | approve NAME --until DATE --reason TEXT --approver NAME [--mac MAC] | revoke NAME ID | forget NAME MAC", args,
		sub{"register", deviceRegister},
		sub{"unregister", deviceUnregister},
		sub{"list", deviceList},
		sub{"approve", deviceApprove},
		sub{"revoke", func(e *env, args []string) error { return approvalRevoke(e, "device revoke", args) }},
		sub{"forget", deviceForget})
}

func deviceRegister(e *env, args []string) error {
	fs := e.newFlags("device register", "MAC [--label TEXT] | --from FILE.csv")
	label := fs.String("label", "", "what the device is (\"library laptop 12\")")
	from := fs.String("from", "", "register every device in this CSV `file` (MAC address, then an optional label, a row each), in one transaction")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *from != "" {
		if len(pos) != 0 {
			return usagef("a MAC address or --from FILE, not both")
		}
		return deviceRegisterFrom(e, *from)
	}
	if len(pos) != 1 {
		return usagef("want one MAC address, or --from FILE.csv")
	}
	s, done, err := e.openForChange("register a school device")
	if err != nil {
		return err
	}
	defer done()
	sd, err := e.directory(s).RegisterSchoolDevice(e.ctx, e.actor(), pos[0], *label)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "school device %s registered: it is nobody's personal device\n", sd.MAC)
	return nil
}

// deviceRegisterFrom registers the devices a CSV file lists, all or none.
func deviceRegisterFrom(e *env, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ds, err := directory.ParseSchoolDevices(f)
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was registered)", path, err)
	}
	s, done, err := e.openForChange("register school devices")
	if err != nil {
		return err
	}
	defer done()
	n, err := e.directory(s).RegisterSchoolDevices(e.ctx, e.actor(), ds)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d school devices registered: they are nobody's personal devices\n", n)
	return nil
}

func deviceUnregister(e *env, args []string) error {
	fs := e.newFlags("device unregister", "MAC")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one MAC address")
	}
	s, done, err := e.openForChange("unregister a school device")
	if err != nil {
		return err
	}
	defer done()
	if err := e.directory(s).RemoveSchoolDevice(e.ctx, e.actor(), pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s is no longer on the register of school devices\n", pos[0])
	return nil
}

// deviceList lists the register of school devices, or one person's
// devices and approvals.
func deviceList(e *env, args []string) error {
	fs := e.newFlags("device list", "[NAME]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	loc := cfg.Location()
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if len(pos) == 0 {
		sds, err := s.SchoolDevices(e.ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(tw, "SCHOOL DEVICE\tLABEL\tREGISTERED BY\tON")
		for _, sd := range sds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sd.MAC, dash(sd.Label), sd.AddedBy, showWhen(sd.AddedAt, loc))
		}
		return tw.Flush()
	}
	a, err := findAccount(e.ctx, s, pos[0])
	if err != nil {
		return err
	}
	ds, err := s.Devices(e.ctx, a.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(tw, "DEVICE\tFIRST SEEN\tLAST SEEN\tOVER THE LIMIT")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", d.MAC, showWhen(d.FirstAt, loc), showWhen(d.LastAt, loc), d.Flagged)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printApprovals(e, s, a, loc, directory.ApprovalDevice)
}

func deviceApprove(e *env, args []string) error {
	fs := e.newFlags("device approve", "NAME --until DATE --reason TEXT --approver NAME [--mac MAC]")
	mac := fs.String("mac", "", "the one device approved (default: any of the person's devices)")
	ap, approver, name, err := approvalFlags(e, fs, args)
	if err != nil {
		return err
	}
	ap.Kind, ap.Device = directory.ApprovalDevice, *mac
	return recordApproval(e, name, approver, ap)
}

func deviceForget(e *env, args []string) error {
	fs := e.newFlags("device forget", "NAME MAC")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want a username and a MAC address (keystage device list NAME)")
	}
	s, a, done, err := e.openAccountForChange("forget a device", pos[0])
	if err != nil {
		return err
	}
	defer done()
	if err := e.directory(s).ForgetDevice(e.ctx, e.actor(), a, pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s's device %s forgotten: it no longer counts towards the limit\n", a.Username, pos[1])
	return nil
}

// approvalRevoke ends an approval (a device's or an exception) now.
func approvalRevoke(e *env, what string, args []string) error {
	fs := e.newFlags(what, "NAME ID")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want a username and an approval id (keystage exception list NAME)")
	}
	id, err := strconv.ParseInt(pos[1], 10, 64)
	if err != nil {
		return usagef("%q: want an approval id", pos[1])
	}
	s, a, done, err := e.openAccountForChange("revoke an approval", pos[0])
	if err != nil {
		return err
	}
	defer done()
	ap, err := e.directory(s).RevokeApproval(e.ctx, e.actor(), a, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s approval %d of %s revoked\n", ap.Kind, ap.ID, a.Username)
	return nil
}
