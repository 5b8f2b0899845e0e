package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

func cmdRegister(e *env, args []string) error {
	return dispatch(e, "register", "register export | person NAME", args,
		sub{"export", registerExport},
		sub{"person", registerPerson})
}

func registerExport(e *env, args []string) error {
	fs := e.newFlags("register export", "[--as-of DATE] [--format csv|json|jsonl|xlsx] [-o FILE] [--recipient KEY]...")
	asOfFlag := fs.String("as-of", "", "the register as it stood at the end of this `date` (YYYY-MM-DD), rebuilt from the audit trail")
	format := fs.String("format", "", "csv, json, jsonl or xlsx (default: from the -o file's extension, else csv)")
	out := fs.String("o", "", "write to `file` instead of standard output")
	school := fs.String("school", "", "a trust: this school's register (its people and those on its roll too), or trust: the trust's own; default the whole trust")
	offsite := addOffsiteFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	recs, err := offsite.recipients()
	if err != nil {
		return err
	}
	if *format == "" {
		*format = strings.TrimPrefix(filepath.Ext(strings.TrimSuffix(*out, ".age")), ".")
		if !oneOf(*format, audit.FormatJSON, audit.FormatJSONL, audit.FormatXLSX) {
			*format = audit.FormatCSV
		}
	}
	if !oneOf(*format, audit.FormatCSV, audit.FormatJSON, audit.FormatJSONL, audit.FormatXLSX) {
		return usagef("--format %q: use csv, json, jsonl or xlsx", *format)
	}
	if *format == audit.FormatXLSX && *out == "" && len(recs) == 0 {
		return usagef("an xlsx register is a binary file: give -o FILE.xlsx")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	var asOf time.Time
	if *asOfFlag != "" {
		d, err := dayStart(*asOfFlag, cfg.Location())
		if err != nil {
			return usagef("--as-of: %v", err)
		}
		if d.After(time.Now()) {
			return usagef("--as-of %s is in the future: give today or an earlier date", *asOfFlag)
		}
		asOf = d.AddDate(0, 0, 1).Add(-time.Microsecond) // the end of that day
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	only, err := e.reportSchool(s, cfg, *school)
	if err != nil {
		return err
	}
	// The register reads the whole trail; its school is bounded by only.
	d := e.trustDirectory(s, nil)
	n := 0
	written, err := e.writeOutput(*out, recs, func(w io.Writer) error {
		rw, err := audit.NewRegisterWriter(w, *format, cfg.Location())
		if err != nil {
			return err
		}
		if err := d.RegisterOf(e.ctx, only, asOf, func(r audit.RegisterRow) error { n++; return rw.Write(r) }); err != nil {
			return err
		}
		return rw.Close()
	})
	if err == nil && written != "" {
		fmt.Fprintf(e.stderr, "%d people written to %s\n", n, written)
	}
	return err
}

func registerPerson(e *env, args []string) error {
	fs := e.newFlags("register person", "NAME [-o FILE] [--recipient KEY]... [--withhold-third-parties]")
	out := fs.String("o", "", "write to `file` instead of standard output")
	withhold := fs.Bool("withhold-third-parties", false, "replace other people's names and usernames (who made each change, who approved, a parent's name) with \"withheld\"")
	offsite := addOffsiteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want: register person NAME (the username)")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	recs, err := offsite.recipients()
	if err != nil {
		return err
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	d := e.directory(s)
	written, err := e.writeOutput(*out, recs, func(w io.Writer) error {
		if *withhold {
			return d.PersonRecordWithheld(e.ctx, pos[0], cfg.Location(), w)
		}
		return d.PersonRecord(e.ctx, pos[0], cfg.Location(), w)
	})
	if err == nil && written != "" {
		fmt.Fprintf(e.stderr, "the record of %s written to %s\n", pos[0], written)
	}
	return err
}
