package portal

import (
	"context"
	"errors"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// actorNames turns the actor ids of the audit trail ("user:zwright",
// "cli:root", "system") into words for staff pages: a person's name and
// username where the account is known. It looks each id up once.
type actorNames struct {
	ctx   context.Context
	st    Reader
	known map[string]string
}

func (s *Server) actorNames(ctx context.Context) *actorNames {
	return &actorNames{ctx: ctx, st: s.store, known: map[string]string{}}
}

func (n *actorNames) name(actor string) string {
	if v, ok := n.known[actor]; ok {
		return v
	}
	kind, id, _ := strings.Cut(actor, ":")
	v := actor
	switch {
	case actor == "":
		v = "unknown"
	case actor == "system":
		v = "Keystage itself"
	case kind == "user" && id != "":
		v = id
		a, err := n.st.AccountByUsername(n.ctx, id)
		if err == nil {
			v = a.Name() + " (" + id + ")"
		} else if !errors.Is(err, directory.ErrNotFound) {
			v = id
		}
		v += " in the portal"
	case kind == "cli" && id != "":
		v = id + " on the command line"
	case kind == "job" && id != "":
		v = "the " + id + " job"
	}
	n.known[actor] = v
	return v
}

// staffGateMessage says a gate decision about a person to the staff member
// looking at their record: in the third person, with what staff can do
// about it. (Decision.Message speaks to the person refused.)
func staffGateMessage(d directory.Decision, a directory.Account, loc *time.Location) string {
	until := func(prefix string) string {
		if d.Until.IsZero() {
			return prefix + " until lifted"
		}
		return prefix + " until " + d.Until.In(loc).Format("Mon 2 Jan 2006 15:04")
	}
	switch d.Reason {
	case directory.ReasonNone:
		return "allowed."
	case directory.ReasonDisabled:
		if a.DisableReason != "" {
			return "refused: the account is disabled (" + a.DisableReason + ")."
		}
		return "refused: the account is disabled."
	case directory.ReasonNotStarted:
		return "refused: the account starts on " + d.Until.In(loc).Format("Mon 2 Jan 2006") + "."
	case directory.ReasonLeft:
		if !a.LeaveDate.IsZero() {
			return "refused: they have left the school (leave date " + a.LeaveDate.Format("Mon 2 Jan 2006") + ") and the account has ended."
		}
		return "refused: they have left the school and the account has ended."
	case directory.ReasonSuspended:
		return "refused: " + until("network access is suspended") + "."
	case directory.ReasonLockedOut:
		return "refused: " + until("locked after too many wrong passwords") + "."
	case directory.ReasonAUPUnsigned:
		return "refused: the " + d.Audience + " acceptable use policy is not signed yet. They can sign it in the portal, or record a paper form below."
	case directory.ReasonConsentMissing:
		return "refused: no parental consent is recorded. Record the parent's or carer's paper form below when it comes in."
	case directory.ReasonNoCredential:
		return "refused: they have no Wi-Fi password yet; they get one on the portal's Wi-Fi page."
	case directory.ReasonCredentialEnded:
		return "refused: their Wi-Fi password has ended; they get a new one on the portal's Wi-Fi page."
	case directory.ReasonMustChange:
		return "refused: they must change their password in the portal first."
	}
	return "refused (" + string(d.Reason) + ")."
}

// passkeyRequirement says what the configuration asks of this person about
// passkeys: which of their staff roles need a passkey session, or that none
// does. It is read from PasskeyRoles, never assumed.
func (s *Server) passkeyRequirement(rq *request) string {
	var mine, others []string
	for _, role := range s.cfg.PasskeyRoles {
		if rq.has(role) {
			mine = append(mine, string(role))
		} else {
			others = append(others, string(role))
		}
	}
	switch {
	case len(mine) > 0:
		return "You must use one: your staff pages as " + andList(mine) +
			" open only when you sign in with a passkey. Add one here, then sign out and sign in with it."
	case len(others) > 0 && rq.acct.Role == directory.RoleStaff:
		return "Staff with the " + andList(others) + " role" + pluralS(len(others)) +
			" must sign in with a passkey to use those pages. You do not hold " + pronoun(len(others)) + ", so a passkey is your choice."
	case len(others) > 0:
		return "A passkey is your choice: you can still sign in with your password."
	}
	return "No one here must use a passkey: it is your choice, and your password still works."
}

func andList(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pronoun(n int) string {
	if n == 1 {
		return "that role"
	}
	return "those roles"
}
