package main

import (
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/terminal"
)

func cmdConsent(e *env, args []string) error {
	if len(args) == 0 || !oneOf(args[0], "record", "refuse", "withdraw") {
		return usagef("want: consent record|refuse NAME --parent P --relationship R [--date D] | consent withdraw NAME [--parent P --relationship R] [--date D]")
	}
	sub := args[0]
	fs := e.newFlags("consent "+sub, "NAME")
	parent := fs.String("parent", "", "who gave the decision: the parent's or carer's name, or the local authority and its officer for a looked-after child")
	rel := fs.String("relationship", "", "how they are related (mother, father, carer, \"local authority\", …)")
	date := fs.String("date", "", "the date on the form or letter (default today)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one username")
	}
	named := strings.TrimSpace(*parent) != "" || strings.TrimSpace(*rel) != ""
	if (sub != "withdraw" || named) && (strings.TrimSpace(*parent) == "" || strings.TrimSpace(*rel) == "") {
		return usagef("want --parent and --relationship, as written on the form")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	s, done, err := e.openForChange(sub + " the consent")
	if err != nil {
		return err
	}
	defer done()
	d := e.directory(s)
	a, err := e.findAccount(s, pos[0])
	if err != nil {
		return err
	}
	if sub == "withdraw" && !named {
		n, err := d.WithdrawConsent(e.ctx, e.actor(), a)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "withdrew %d consent(s) for %s\n", n, a.Username)
		fmt.Fprintf(e.stderr, "%s is refused the network until a parent or carer consents again; a running RADIUS server ends live sessions.\n", a.Username)
		return nil
	}
	given := d.Now()
	if *date != "" {
		if given, err = parseWhen(*date, cfg.Location()); err != nil {
			return usagef("--date %v", err)
		}
	}
	decision := map[string]directory.ConsentDecision{"record": directory.ConsentAgreed, "refuse": directory.ConsentRefused, "withdraw": directory.ConsentWithdrawn}[sub]
	c, err := d.RecordConsent(e.ctx, e.actor(), a, directory.Consent{ParentName: *parent, Relationship: *rel, GivenAt: given,
		Method: directory.SignPaper, Decision: decision})
	if err != nil {
		return err
	}
	said := map[directory.ConsentDecision]string{directory.ConsentAgreed: "consent", directory.ConsentRefused: "refusal of consent",
		directory.ConsentWithdrawn: "withdrawal of consent"}[c.Decision]
	fmt.Fprintf(e.stdout, "recorded %s for %s from %s (%s), dated %s\n", said, a.Username, terminal.Safe(c.ParentName), terminal.Safe(c.Relationship),
		c.GivenAt.In(cfg.Location()).Format(directory.DateLayout))
	if c.Decision != directory.ConsentAgreed {
		fmt.Fprintf(e.stderr, "%s is refused the network until a parent or carer consents; a running RADIUS server ends live sessions.\n", a.Username)
	}
	return nil
}
