package main

import (
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
)

// suspensionLine says one suspension for account show: what it takes
// away, from and until when and, for safeguarding roles only, why.
func suspensionLine(x directory.Suspension, seeWhy bool) string {
	until := "until lifted"
	switch {
	case x.LiftRole != "":
		until = "until the " + x.LiftRole + " role lifts it after a conversation"
	case !x.Until.IsZero():
		until = "until " + x.Until.Format("2006-01-02 15:04")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, from %s %s", x.Scope.Describe(), x.From.Format("2006-01-02 15:04"), until)
	if !x.LiftedAt.IsZero() {
		fmt.Fprintf(&b, "; lifted %s by %s", x.LiftedAt.Format("2006-01-02 15:04"), x.LiftedBy)
	}
	if !seeWhy {
		return b.String()
	}
	fmt.Fprintf(&b, ": %s", x.Reason)
	if x.IncidentRef != "" {
		fmt.Fprintf(&b, " (ref %s)", x.IncidentRef)
	}
	if x.TalkWith != "" {
		fmt.Fprintf(&b, "; conversation %s with %s: %s", x.TalkAt.Format("2006-01-02 15:04"), x.TalkWith, x.TalkNote)
	}
	return b.String()
}
