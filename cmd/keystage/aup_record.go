package main

import (
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/terminal"
)

func aupRecord(e *env, args []string) error {
	fs := e.newFlags("aup record", "NAME [--audience A] --form-date DATE --witness W [--notice-acknowledged]")
	audience := fs.String("audience", "", "the policy signed (default: the person's only one)")
	formDate := fs.String("form-date", "", "the date written on the paper form (YYYY-MM-DD)")
	witness := fs.String("witness", "", "who witnessed the signature on the form")
	notice := fs.Bool("notice-acknowledged", false, "the form's monitoring notice was acknowledged with the signature")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	if *formDate == "" || strings.TrimSpace(*witness) == "" {
		return usagef("want --form-date and --witness, as written on the paper form")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	fd, err := parseWhen(*formDate, cfg.Location())
	if err != nil {
		return usagef("--form-date %v", err)
	}
	s, done, err := e.openForChange("record the paper form")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	docs, err := s.AUPDocuments(e.ctx)
	if err != nil {
		return err
	}
	doc, err := documentFor(d, docs, a, *audience)
	if err != nil {
		return err
	}
	sig, err := d.RecordSignature(e.ctx, e.actor(), a, directory.Signature{DocumentID: doc.ID, Digest: doc.Digest,
		Method: directory.SignPaper, FormDate: fd, Witness: *witness, NoticeAcknowledged: *notice})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "recorded %s's paper signature of %s version %s (form dated %s, witness %s)\n",
		a.Username, doc.Audience, doc.Version, directory.FormatDate(sig.FormDate), terminal.Safe(sig.Witness))
	return nil
}

// documentFor is the current document that a signs for audience, or for
// its only audience with a document when audience is empty.
func documentFor(d *directory.Directory, docs []directory.AUPDocument, a directory.Account, audience string) (directory.AUPDocument, error) {
	now := d.Now()
	docs = directory.DocumentsFor(docs, a.School) // the person's school's and the trust's
	theirs := d.Gate().Policy.AudiencesOf(a)
	var found []directory.AUPDocument
	for _, aud := range theirs {
		if audience != "" && aud != audience {
			continue
		}
		if doc, ok := directory.CurrentDocument(docs, aud, now); ok {
			found = append(found, doc)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case audience != "" && !oneOf(audience, theirs...):
		return directory.AUPDocument{}, fmt.Errorf("%s does not sign the %s AUP (theirs: %s)", a.Username, audience, strings.Join(theirs, ", "))
	case len(found) == 0:
		return directory.AUPDocument{}, fmt.Errorf("no AUP is published for %s's audience (%s): keystage aup publish first", a.Username, strings.Join(theirs, ", "))
	}
	return directory.AUPDocument{}, fmt.Errorf("%s signs several AUPs (%s): say which with --audience", a.Username, strings.Join(theirs, ", "))
}
