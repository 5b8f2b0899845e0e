package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"keystage.dev/keystage/directory"
)

func cmdAUP(e *env, args []string) error {
	return dispatch(e, "aup", "aup publish | list | record NAME | status [NAME] | import FILE.csv", args,
		sub{"publish", aupPublish},
		sub{"list", aupList},
		sub{"record", aupRecord},
		sub{"status", aupStatus},
		sub{"import", aupImport})
}

func aupPublish(e *env, args []string) error {
	fs := e.newFlags("aup publish", "--audience A --version V --file TEXT.md [--resign-from DATE] [--monitoring-notice FILE]")
	audience := fs.String("audience", "", "who signs it: staff, pupil-ks1, pupil-ks2, pupil, community, parent-permission or one from [aup]")
	version := fs.String("version", "", "the version, new for the audience (e.g. 2026-09)")
	file := fs.String("file", "", "the policy's text (Markdown)")
	resign := fs.String("resign-from", "", "everyone must sign this version again from this date (YYYY-MM-DD, school time zone)")
	notice := fs.String("monitoring-notice", "", "a file holding the notice that network and internet use is monitored, acknowledged as part of signing in the portal")
	school := fs.String("school", "", "the trust's school whose people sign it (its id); empty: the whole trust")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *audience == "" || *version == "" || *file == "" {
		return usagef("want --audience, --version and --file")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("reading the policy: %w", err)
	}
	doc := directory.AUPDocument{Audience: *audience, Version: *version, Text: string(text), School: *school}
	if *notice != "" {
		b, err := os.ReadFile(*notice)
		if err != nil {
			return fmt.Errorf("reading the monitoring notice: %w", err)
		}
		doc.MonitoringNotice = string(b)
	}
	if *resign != "" {
		if doc.ResignFrom, err = parseWhen(*resign, cfg.Location()); err != nil {
			return usagef("--resign-from %v", err)
		}
	}
	s, done, err := e.openForChange("publish the policy")
	if err != nil {
		return err
	}
	defer done()
	// A school's staff publish for their own school only.
	if scope, err := e.actingScope(s); err != nil {
		return err
	} else if !scope.Trust() && doc.School != scope.School {
		return fmt.Errorf("publish for %s: you act for school %s: %w", schoolOrTrustName(doc.School), scope.School, directory.ErrOutOfScope)
	}
	doc, err = e.directory(s).PublishAUP(e.ctx, e.actor(), doc)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "published %s version %s (sha256 %s)\n", doc.Audience, doc.Version, doc.Digest)
	if doc.MonitoringNotice != "" {
		fmt.Fprintf(e.stdout, "with its monitoring notice, acknowledged as part of signing in the portal\n")
	}
	if doc.School != "" {
		fmt.Fprintf(e.stdout, "for the people of %s only\n", schoolLine(cfg, doc.School))
	}
	if !doc.ResignFrom.IsZero() {
		fmt.Fprintf(e.stderr, "Everyone in %s must sign version %s by %s, or the network refuses them from then.\n",
			doc.Audience, doc.Version, showWhen(doc.ResignFrom, cfg.Location()))
	} else {
		fmt.Fprintf(e.stderr, "Signatures of earlier versions of %s still count; new signatures are of version %s.\n", doc.Audience, doc.Version)
	}
	return nil
}

func aupList(e *env, args []string) error {
	fs := e.newFlags("aup list", "")
	if _, err := parse(fs, args); err != nil {
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
	docs, err := s.AUPDocuments(e.ctx)
	if err != nil {
		return err
	}
	d := e.directory(s)
	now := d.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	trust := len(cfg.Schools) > 0
	if trust {
		fmt.Fprint(tw, "SCHOOL\t")
	}
	fmt.Fprintln(tw, "AUDIENCE\tVERSION\tPUBLISHED\tRESIGN FROM\tSHA256\tCURRENT")
	for _, doc := range docs {
		// Current for the document's own school (a trust-wide one: for the trust's own).
		cur, _ := directory.CurrentDocument(directory.DocumentsFor(docs, doc.School), doc.Audience, now)
		if trust {
			fmt.Fprintf(tw, "%s\t", schoolColumn(directory.Account{School: doc.School}))
		}
		mark := ""
		if cur.ID == doc.ID {
			mark = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", doc.Audience, doc.Version, showWhen(doc.PublishedAt, cfg.Location()),
			showWhen(doc.ResignFrom, cfg.Location()), doc.Digest[:16], mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d document(s); audiences known: %s\n", len(docs), strings.Join(d.Gate().Policy.KnownAudiences(), ", "))
	return nil
}
