package main

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// aupStatus says who has and has not signed the current version of each
// AUP. Without a name it streams every account, a page at a time, so that
// a council of 200,000 people needs no more memory than a school.
func aupStatus(e *env, args []string) error {
	fs := e.newFlags("aup status", "[--audience A] [--unsigned] [NAME]")
	audience := fs.String("audience", "", "only this audience")
	unsigned := fs.Bool("unsigned", false, "only the people still to sign")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("want at most one username")
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
	d := e.directory(s)
	if *audience != "" && !oneOf(*audience, d.Gate().Policy.KnownAudiences()...) {
		return usagef("--audience %q: not a known audience (known: %s)", *audience, strings.Join(d.Gate().Policy.KnownAudiences(), ", "))
	}
	docs, err := s.AUPDocuments(e.ctx)
	if err != nil {
		return err
	}
	now := d.Now()
	loc := cfg.Location()
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	counts := map[directory.SignStatus]int{}
	line := func(a directory.Account, aud string) error {
		docs := directory.DocumentsFor(docs, a.School) // the person's school's and the trust's
		if st, _ := directory.SignedStatus(docs, nil, aud, now); st == directory.NothingToSign {
			return nil // nothing published: no need to read signatures
		}
		sigs, err := s.Signatures(e.ctx, a.ID)
		if err != nil {
			return err
		}
		st, sig := directory.SignedStatus(docs, sigs, aud, now)
		counts[st]++
		if *unsigned && st != directory.Unsigned {
			return nil
		}
		cur, _ := directory.CurrentDocument(docs, aud, now)
		how := ""
		if st != directory.Unsigned {
			how = signedWhen(sig, loc)
		}
		_, err = fmt.Fprintf(w, "%-24s %-18s %-10s %-15s %s\n", a.Username, aud, cur.Version, st, how)
		return err
	}
	fmt.Fprintf(w, "%-24s %-18s %-10s %-15s %s\n", "USERNAME", "AUDIENCE", "VERSION", "STATUS", "SIGNED")
	if len(pos) == 1 {
		a, err := e.findAccount(s, pos[0])
		if err != nil {
			return err
		}
		for _, aud := range d.Gate().Policy.AudiencesOf(a) {
			if err := line(a, aud); err != nil {
				return err
			}
		}
		dec, err := d.Gate().Check(e.ctx, a, directory.ServiceWiFi, now)
		if err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "Wi-Fi now: %s\n", dec.Message(loc))
		return nil
	}
	q, err := e.scopeQuery(directory.AccountQuery{Status: directory.StatusActive, Limit: 1000}, s)
	if err != nil {
		return err
	}
	for {
		page, err := s.ListAccounts(e.ctx, q)
		if err != nil {
			return err
		}
		for _, a := range page {
			for _, aud := range d.Gate().Policy.AudiencesOf(a) {
				if *audience != "" && aud != *audience {
					continue
				}
				if err := line(a, aud); err != nil {
					return err
				}
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d signed the current version, %d an earlier one that still counts, %d unsigned\n",
		counts[directory.SignedCurrent], counts[directory.SignedEarlier], counts[directory.Unsigned])
	return nil
}

// signedWhen says when a signature was given: for a paper form the date
// written on it (when it was typed in is the audit trail's business), for
// the portal the moment it was signed.
func signedWhen(sig directory.Signature, loc *time.Location) string {
	if sig.Method == directory.SignPaper && !sig.FormDate.IsZero() {
		return directory.FormatDate(sig.FormDate) + " paper (entered " + showWhen(sig.SignedAt, loc) + ")"
	}
	return showWhen(sig.SignedAt, loc) + " " + string(sig.Method)
}
