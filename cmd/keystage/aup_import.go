package main

import (
	"errors"
	"fmt"
	"os"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/terminal"
)

// aupImport enters a CSV of paper forms: first the plan, each row with its
// line number and what will happen to it (or why it cannot); with --apply
// the rows that pass are recorded in one transaction.
func aupImport(e *env, args []string) error {
	fs := e.newFlags("aup import", "FILE.csv [--apply]")
	apply := fs.Bool("apply", false, "record the signatures (without it, only the plan is shown)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one CSV file with columns username,form_date,witness[,audience]")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := parsePaperForms(f, cfg.Location())
	if err != nil {
		return err
	}
	s, done, err := e.openPlanOrApply(*apply, "record the paper forms")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	docs, err := s.AUPDocuments(e.ctx)
	if err != nil {
		return err
	}
	var reqs []directory.SignRequest
	refused, skipped := 0, 0
	seen := map[[2]int64]int{} // account and document: line
	fmt.Fprintf(e.stdout, "%-6s %-24s %-18s %-10s %s\n", "LINE", "USERNAME", "AUDIENCE", "VERSION", "PLAN")
	for _, r := range rows {
		var doc directory.AUPDocument
		plan := "sign"
		problem := r.Problem
		var a directory.Account
		if problem == "" {
			a, err = e.findAccount(s, r.Username)
			if err == nil {
				doc, err = documentFor(d, docs, a, r.Audience)
			}
			if err != nil {
				problem = err.Error()
			}
		}
		if problem == "" {
			key := [2]int64{a.ID, doc.ID}
			sig := directory.Signature{DocumentID: doc.ID, Digest: doc.Digest, Method: directory.SignPaper, FormDate: r.FormDate, Witness: r.Witness}
			_, err := d.CheckSignature(e.ctx, s, docs, a, sig)
			switch {
			case seen[key] != 0:
				problem = fmt.Sprintf("the same form is on line %d", seen[key])
			case errors.Is(err, directory.ErrConflict):
				plan = "skip: already signed"
				skipped++
			case err != nil:
				problem = err.Error()
			default:
				reqs = append(reqs, directory.SignRequest{Account: a, Signature: sig})
			}
			seen[key] = r.Line
		}
		if problem != "" {
			plan = "REFUSED: " + problem
			refused++
		}
		fmt.Fprintf(e.stdout, "%-6d %-24s %-18s %-10s %s\n", r.Line, terminal.Safe(r.Username), doc.Audience, doc.Version, terminal.Safe(plan))
	}
	switch {
	case !*apply:
		fmt.Fprintf(e.stderr, "%d to sign, %d already signed, %d refused. Nothing recorded yet: run again with --apply.\n", len(reqs), skipped, refused)
	case len(reqs) > 0:
		if _, err := d.RecordSignatures(e.ctx, e.actor(), reqs); err != nil {
			return fmt.Errorf("nothing was recorded: %w", err)
		}
		fmt.Fprintf(e.stderr, "recorded %d signature(s) in one transaction; %d already signed, %d refused\n", len(reqs), skipped, refused)
	default:
		fmt.Fprintf(e.stderr, "nothing to record; %d already signed, %d refused\n", skipped, refused)
	}
	if refused > 0 {
		return fmt.Errorf("%d row(s) refused: correct them in the file and import it again (rows already recorded are skipped)", refused)
	}
	return nil
}
