package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/terminal"
)

// cmdReview lists the access review, exports it for the auditor, or
// records one from the exported CSV filled in by the reviewer.
func cmdReview(e *env, args []string) error {
	fs := e.newFlags("review", "[--format csv|xlsx -o FILE] | --record FILE.csv [--reviewer NAME] [--notes TEXT]")
	format := fs.String("format", "", "export as csv or xlsx (default: from the -o file's extension); without it, a table")
	out := fs.String("o", "", "write the export to `file` instead of standard output")
	record := fs.String("record", "", "record the review from this exported `CSV` with Decision (keep or remove) and Reason filled in on every row")
	reviewer := fs.String("reviewer", "", "who reviewed (default: who runs the command)")
	notes := fs.String("notes", "", "notes kept with the recorded review")
	school := fs.String("school", "", "a trust: review this school's people only (a school's staff (--as) review theirs)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("keystage review takes no arguments")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if *record != "" {
		return reviewRecord(e, cfg, *record, *reviewer, *notes, *school)
	}
	if *format == "" && *out != "" {
		*format = strings.TrimPrefix(filepath.Ext(*out), ".")
		if *format != audit.FormatXLSX {
			*format = audit.FormatCSV
		}
	}
	if *format != "" && !oneOf(*format, audit.FormatCSV, audit.FormatXLSX) {
		return usagef("--format %q: use csv or xlsx", *format)
	}
	if *format == audit.FormatXLSX && *out == "" {
		return usagef("an xlsx review is a binary file: give -o FILE.xlsx")
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	pol := cfg.reviewPolicy()
	if pol.School, err = e.reportSchool(s, cfg, *school); err != nil {
		return err
	}
	r, err := e.trustDirectory(s, nil).Review(e.ctx, pol)
	if err != nil {
		return err
	}
	if *format != "" {
		written, err := e.writeOutput(*out, nil, func(w io.Writer) error { return directory.ExportReview(w, *format, r) })
		if err == nil && written != "" {
			fmt.Fprintf(e.stderr, "%d entries written to %s; fill in Decision and Reason, then: keystage review --record %s\n", len(r.Items), written, written)
		}
		return err
	}
	loc := cfg.Location()
	if r.LastReview.IsZero() {
		fmt.Fprintf(e.stdout, "no access review recorded yet: one is due now\n")
	} else {
		fmt.Fprintf(e.stdout, "last review %s by %s; next due %s\n", r.LastReview.In(loc).Format("2006-01-02"),
			terminal.Safe(r.LastBy), r.NextDue.In(loc).Format("2006-01-02"))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LISTED\tUSERNAME\tNAME\tROLE\tGROUP\tLAST USE\tDETAIL")
	for _, it := range r.Items {
		last := "never"
		if !it.LastUse.IsZero() {
			last = it.LastUse.In(loc).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Kind, it.Username, terminal.Safe(it.Name), it.Role, it.Group, last, terminal.Safe(it.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d to review: keystage review -o review.csv, fill in Decision and Reason, then keystage review --record review.csv\n", len(r.Items))
	return nil
}

func reviewRecord(e *env, cfg *Config, path, reviewer, notes, school string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	decs, err := directory.ParseReviewCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	// A school's review is recorded as the school's (its next one falls due
	// from it); a school's staff record theirs.
	if school, err = e.reportSchool(s, cfg, school); err != nil {
		return err
	}
	err = e.directory(s).RecordReview(e.ctx, e.actor(), directory.ReviewRecord{Reviewer: reviewer, Notes: notes, Decisions: decs, School: school})
	if errors.Is(err, directory.ErrManagedByMIS) {
		return fmt.Errorf("%w: nothing was recorded; mark that row keep and change the group in the MIS", err)
	}
	if err != nil {
		return err
	}
	removed := 0
	for _, d := range decs {
		if d.Remove {
			removed++
		}
	}
	fmt.Fprintf(e.stdout, "review recorded: %d kept, %d removed\n", len(decs)-removed, removed)
	return nil
}
