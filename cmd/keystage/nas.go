package main

import (
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
)

// minNASSecret is the shortest shared secret accepted: RADIUS hides
// passwords and signs packets with MD5 over it, so a short one falls to an
// offline guess (the advice after CVE-2024-3596 is 16 or more random
// characters).
const minNASSecret = 16

func cmdNAS(e *env, args []string) error {
	return dispatch(e, "nas", "nas add NAME --address CIDR,… [--vendor V] [--coa-port N] [--school ID] | nas list | nas remove NAME", args,
		sub{"add", nasAdd},
		sub{"list", nasList},
		sub{"remove", nasRemove})
}

func nasAdd(e *env, args []string) error {
	fs := e.newFlags("nas add", "NAME --address ADDR[,ADDR…] [--vendor VENDOR] [--coa-port PORT] [--school ID]  (shared secret from the terminal or standard input)")
	addrs := fs.String("address", "", "source addresses or CIDR prefixes of the NAS, comma-separated")
	vendor := fs.String("vendor", "generic", "cisco, aruba, ubiquiti, meraki, generic …")
	coaPort := fs.Int("coa-port", 0, "where the NAS takes Disconnect-Request (0: 3799)")
	school := fs.String("school", "", "the trust's school whose site it serves (empty: the trust's); its network policies apply first")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one NAS name")
	}
	if err := directory.ValidUsername(pos[0]); err != nil {
		return usagef("NAS %v", err)
	}
	prefixes, err := directory.ParsePrefixes(*addrs)
	if err != nil {
		return usagef("--address: %v", err)
	}
	if *coaPort < 0 || *coaPort > 65535 {
		return usagef("--coa-port %d: want 1 to 65535, or 0 for 3799", *coaPort)
	}
	if *school != "" {
		// Checked before the secret is asked for, so that a mistyped
		// school costs no typing.
		cfg, err := e.config()
		if err != nil {
			return err
		}
		if err := cfg.checkSchool(*school, false); err != nil {
			return usagef("--school: %v", err)
		}
	}
	secret, err := readSecret(e, "Shared secret for "+pos[0]+": ")
	if err != nil {
		return err
	}
	if len(secret) < minNASSecret {
		return fmt.Errorf("the shared secret has %d characters: use at least %d random ones (nothing was stored)", len(secret), minNASSecret)
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := e.directoryWithKeys(s, true)
	if err != nil {
		return err
	}
	n, err := d.PutNAS(e.ctx, e.actor(), directory.NASClient{Name: pos[0], Addresses: prefixes, Vendor: *vendor, CoAPort: *coaPort, School: *school}, secret)
	if err != nil {
		return err
	}
	// Every running server is told of the commit and reloads its clients
	// at once: on PostgreSQL through the notification (measured:
	// deploy/nas_pickup_test.go), on SQLite within the store's poll
	// (deploy/beside_test.go); the 30 s refresh only covers a change
	// missed while the database was away.
	fmt.Fprintf(e.stderr, "NAS %s stored (%s); every running node answers it at once, without a restart.\n", n.Name, directory.FormatPrefixes(n.Addresses))
	return nil
}

func nasList(e *env, args []string) error {
	fs := e.newFlags("nas list", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	ns, err := s.NASClients(e.ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESSES\tVENDOR\tDISCONNECT PORT\tKEY\tSCHOOL")
	for _, n := range ns {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, directory.FormatPrefixes(n.Addresses), n.Vendor, radius.DisconnectPort(n), n.KeyID, schoolOrTrust(n.School))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s NAS client(s)\n", strconv.Itoa(len(ns)))
	return nil
}

func nasRemove(e *env, args []string) error {
	fs := e.newFlags("nas remove", "NAME")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one NAS name")
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	d := e.directory(s)
	found, err := d.RemoveNAS(e.ctx, e.actor(), pos[0])
	if err != nil {
		return err
	}
	if !found {
		return errors.New("no NAS client " + strconv.Quote(pos[0]) + " (see keystage nas list)")
	}
	fmt.Fprintf(e.stderr, "NAS %s removed; a running server stops answering it within 30 seconds.\n", pos[0])
	return nil
}

// schoolOrTrust is the school column of a NAS client or a network policy:
// its school's id, or "trust" for the trust's.
func schoolOrTrust(id string) string {
	if id == "" {
		return directory.TrustScope
	}
	return id
}
