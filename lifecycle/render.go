package lifecycle

import (
	"fmt"
	"io"
	"keystage.dev/keystage/terminal"
	"sort"
	"strings"
)

// Line is one change of a plan in words.
type Line struct {
	Action   string
	Username string
	Detail   string
}

// Count is one figure of a plan.
type Count struct {
	What string
	N    int
}

var kindWords = []struct {
	k    Kind
	word string
}{
	{KindStart, "starters"}, {KindMove, "movers"}, {KindLeave, "leavers"}, {KindReturn, "returners"},
	{KindMissing, "missing"}, {KindHold, "disabled by hand, left alone"}, {KindDisable, "to disable"}, {KindPurge, "to purge"}, {KindLegalHold, "kept by a legal hold"},
	{KindSkip, "skipped (left, never had an account)"},
	{KindDual, "on another school's roll too (dual registration)"},
	{KindDualEnd, "dual registration ended"},
	{KindAdopt, "taken into the school (made before the trust's schools)"},
}

// Summary counts the plan by kind, in a fixed order, with the refused rows
// and the groups to create.
func (p *Plan) Summary() []Count {
	c := p.Counts()
	var out []Count
	for _, kw := range kindWords {
		if n := c[string(kw.k)]; n > 0 || (p.Job == "sync" && kw.k != KindHold && kw.k != KindDisable && kw.k != KindPurge && kw.k != KindSkip && kw.k != KindLegalHold && kw.k != KindDual && kw.k != KindDualEnd && kw.k != KindAdopt) ||
			(p.Job == "leavers" && (kw.k == KindDisable || kw.k == KindPurge)) {
			out = append(out, Count{kw.word, n})
		}
	}
	if p.Job == "sync" {
		out = append(out, Count{"refused rows", len(p.Refused)}, Count{"new groups", len(p.Groups)})
		if len(p.RefusedGroups) > 0 {
			out = append(out, Count{"refused groups", len(p.RefusedGroups)})
		}
	}
	return out
}

// Lines are the plan's changes in words, then its refused rows.
func (p *Plan) Lines() []Line {
	out := make([]Line, 0, len(p.Changes)+len(p.Refused))
	for _, c := range p.Changes {
		d := append([]string(nil), c.Why...)
		if c.Kind == KindStart && c.Set != nil {
			d = append([]string{fmt.Sprintf("%s %s, %s%s", c.Set.GivenName, c.Set.FamilyName, c.Set.Role, yearWords(c.Set))}, d...)
		}
		if len(c.Join) > 0 {
			d = append(d, "joins "+strings.Join(c.Join, ", "))
		}
		if len(c.Part) > 0 {
			d = append(d, "leaves "+strings.Join(c.Part, ", "))
		}
		out = append(out, Line{Action: string(c.Kind), Username: c.Username, Detail: fmt.Sprintf("[%s] %s", c.MISID, strings.Join(d, "; "))})
	}
	for _, r := range p.Refused {
		where := r.File
		if r.Line > 0 {
			where = fmt.Sprintf("%s line %d", r.File, r.Line)
		}
		id := r.MISID
		if id == "" {
			id = "?"
		}
		out = append(out, Line{Action: "refused", Username: "", Detail: fmt.Sprintf("[%s] %s: %s", id, where, r.Reason)})
	}
	for _, g := range p.RefusedGroups {
		out = append(out, Line{Action: "refused", Detail: "group " + g.Name + ": " + g.Reason})
	}
	return out
}

func yearWords(f *Fields) string {
	var s string
	if f.YearGroup != "" {
		s += " year " + f.YearGroup
	}
	if f.RegGroup != "" {
		s += " (" + f.RegGroup + ")"
	}
	return s
}

// WriteText prints the plan for a person: what it is, the counts, any
// reason it is blocked, then one line a change.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	what := "MIS sync"
	if p.Job == "leavers" {
		what = "Leaver job"
	}
	fmt.Fprintf(&b, "%s plan", what)
	if p.Source != "" {
		fmt.Fprintf(&b, " from %s", terminal.Safe(p.Source))
		if p.Delta {
			b.WriteString(" (delta)")
		}
	}
	fmt.Fprintf(&b, ", made %s\n", p.MadeAt.Format("2006-01-02 15:04"))
	for _, c := range p.Summary() {
		fmt.Fprintf(&b, "  %-30s %d\n", c.What+":", c.N)
	}
	for _, y := range p.Years {
		fmt.Fprintf(&b, "  %s\n", terminal.Safe(y.String()))
	}
	for _, c := range p.Cohorts {
		fmt.Fprintf(&b, "  expected cohort change: %s\n", terminal.Safe(c.String()))
	}
	if !p.AsOf.IsZero() && p.AsOf.After(p.MadeAt) {
		fmt.Fprintf(&b, "  as of %s, a date still to come: a preview, which cannot be applied\n", p.AsOf.Format("2006-01-02"))
	}
	switch {
	case p.Blocked != "" && p.AllowMassChange:
		fmt.Fprintf(&b, "\nA MASS CHANGE, ALLOWED BY --allow-mass-change (the limit is overridden for this plan): %s\n", terminal.Safe(p.Blocked))
	case p.Blocked != "":
		fmt.Fprintf(&b, "\nREFUSED AS A MASS CHANGE: %s\n", terminal.Safe(p.Blocked))
	}
	lines := p.Lines()
	sort.SliceStable(lines, func(i, j int) bool { return kindOrder(lines[i].Action) < kindOrder(lines[j].Action) })
	if len(lines) > 0 {
		b.WriteString("\n")
	}
	for _, l := range lines {
		// Names, codes and reasons come from the MIS: whatever they hold
		// prints as text, never as something the terminal obeys.
		fmt.Fprintf(&b, "%-8s %-20s %s\n", l.Action, terminal.Safe(l.Username), terminal.Safe(l.Detail))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func kindOrder(action string) int {
	for i, kw := range kindWords {
		if string(kw.k) == action {
			return i
		}
	}
	return len(kindWords)
}
