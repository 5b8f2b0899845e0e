package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/ldif"
	"keystage.dev/keystage/terminal"
)

// maxImportEntries bounds an export read into memory: a large secondary
// school with its staff, pupils and old computer accounts is under 5,000.
const maxImportEntries = 200_000

// maxImportBytes bounds the values held in memory at once (photos and
// certificates included): 512 MiB, far above any school's export.
const maxImportBytes = 512 << 20

// sambaToolTrailer is what samba-tool user getpassword prints on standard
// output after the LDIF; redirected into the export, it is not LDIF.
const sambaToolTrailer = "Got password OK"

// dropSambaToolTrailer passes r on without lines that are exactly
// sambaToolTrailer, a line at a time. Close it when done reading.
func dropSambaToolTrailer(r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// A long line: pass it on in pieces.
				if _, werr := pw.Write(line); werr != nil {
					return
				}
				continue
			}
			if strings.TrimRight(string(line), "\r\n") != sambaToolTrailer {
				if _, werr := pw.Write(line); werr != nil {
					return
				}
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

// accountImport takes over people's passwords from the old directory's LDIF
// export (slapcat, ldbsearch, samba-tool): the plan first, each entry taken
// or left with the reason; with --apply, in one transaction.
func accountImport(e *env, args []string) error {
	fs := e.newFlags("account import", "FILE.ldif [--match mis-id|employeeID|username] [--mis-attribute A] [--create-missing [--role R]] [--wifi-from-nt-hash] [--apply]")
	match := fs.String("match", "mis-id", "how entries find their account: mis-id (the --mis-attribute of the entry is the MIS id), employeeID (Active Directory's employeeID is the MIS id) or username (uid or sAMAccountName)")
	misAttr := fs.String("mis-attribute", "employeeNumber", "with --match mis-id: the entry's attribute that holds the MIS id")
	create := fs.Bool("create-missing", false, "make a manual account for a person no account matches (governors, service accounts)")
	role := fs.String("role", "staff", "with --create-missing: the role of the accounts made")
	wifiNT := fs.Bool("wifi-from-nt-hash", false, "make an imported NT hash the person's Wi-Fi credential too, so MS-CHAPv2 works at once (their old password then opens the Wi-Fi until they get a Wi-Fi password of their own)")
	apply := fs.Bool("apply", false, "store the plan (without it, only the plan is shown)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one LDIF file: slapcat -n 1, ldbsearch -H sam.ldb, or samba-tool user getpassword --attributes=unicodePwd")
	}
	m, err := directory.ParseImportMatch(*match)
	if err != nil {
		return usagef("--match: %v", err)
	}
	r, err := directory.ParseRole(*role)
	if err != nil {
		return usagef("--role: %v", err)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var entries []ldif.Entry
	held := 0
	filtered := dropSambaToolTrailer(f)
	defer filtered.Close() // ends the filter's goroutine however reading ends
	lr := ldif.NewReader(filtered)
	for {
		en, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w; nothing was imported", pos[0], err)
		}
		for _, a := range en.Attrs {
			held += len(a.Value)
		}
		if len(entries) >= maxImportEntries || held > maxImportBytes {
			return fmt.Errorf("%s: more than %d entries or %d MiB; export the people's part of the tree only, without photos (slapcat -b, ldbsearch -b with the attributes named)", pos[0], maxImportEntries, maxImportBytes>>20)
		}
		entries = append(entries, en)
	}

	s, done, err := e.openPlanOrApply(*apply, "import the old directory")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	if *apply && *wifiNT {
		// The Wi-Fi credentials are sealed under the key file.
		if d, err = e.directoryWithKeys(s, false); err != nil {
			return err
		}
	}
	plan, err := d.PlanImport(e.ctx, entries, directory.ImportOptions{
		Match: m, MISAttribute: *misAttr, CreateMissing: *create, CreateRole: r, WiFiFromNT: *wifiNT})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tUSERNAME\tSCHEME\tENTRY")
	for _, t := range plan.Take {
		what := "take over"
		if t.Create {
			what = "create (" + string(t.Account.Role) + ")"
		}
		if len(t.NTHash) > 0 {
			what += " + Wi-Fi"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", what, t.Username, t.Scheme, terminal.Safe(t.DN))
	}
	tw.Flush()
	if len(plan.Ignored) > 0 {
		fmt.Fprintf(e.stdout, "\nLeft as they are (%d):\n", len(plan.Ignored))
		for _, ig := range plan.Ignored {
			fmt.Fprintf(e.stdout, "  %s: %s\n", terminal.Safe(ig.DN), ig.Reason)
		}
	}
	if !*apply {
		fmt.Fprintf(e.stderr, "\n%d to take over, %d left. Nothing changed: run again with --apply to store this plan.\n", len(plan.Take), len(plan.Ignored))
		return nil
	}
	if err := d.ApplyImport(e.ctx, e.actor(), plan); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "\n%d taken over: each signs in with their old password, which is then stored as argon2id. %d left.\n", len(plan.Take), len(plan.Ignored))
	return nil
}
