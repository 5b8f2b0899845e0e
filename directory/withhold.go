package directory

import (
	"encoding/json"
	"strings"

	"keystage.dev/keystage/audit"
)

// A subject access export may withhold third parties' data: what the
// records hold about other people than the subject. In Keystage that is
// who else made a change (the actor, and the *_by fields), a parent's or
// carer's name, a guest's sponsor, another member of a group. Free text
// (a suspension's reason) is the data controller's to redact by hand.

// thirdPartyKeys are the snapshot keys that name other people.
var thirdPartyKeys = map[string]bool{
	"actor": true, "created_by": true, "lifted_by": true, "approved_by": true, "recorded_by": true, "revoked_by": true,
	"decided_by": true, "proposed_by": true, "reviewer": true, "sponsor": true, "parent_name": true, "member": true,
	"members": true, "added_by": true,
}

// personActor reports whether actor names a person ("user:x", "cli:x",
// "portal:x") other than username: jobs and the system are not people.
func personActor(actor, username string) bool {
	kind, name, ok := strings.Cut(actor, ":")
	if !ok || name == username {
		return false
	}
	switch kind {
	case "user", "cli", "portal":
		return true
	}
	return false
}

// withholdThirdParties replaces the values of thirdPartyKeys anywhere in v
// (as JSON) with "withheld", unless they name the subject.
func withholdThirdParties(v any, username string) any {
	b, err := json.Marshal(v)
	if err != nil {
		return "withheld"
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return "withheld"
	}
	return withhold(x, username)
}

func withhold(v any, username string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if thirdPartyKeys[strings.ToLower(k)] {
				if s, ok := y.(string); ok && (s == "" || s == username || strings.HasSuffix(s, ":"+username)) {
					continue
				}
				x[k] = "withheld"
				continue
			}
			x[k] = withhold(y, username)
		}
	case []any:
		for i, y := range x {
			x[i] = withhold(y, username)
		}
	}
	return v
}

// withholdEvent is e with other people taken out of its actor and
// snapshots.
func withholdEvent(e audit.Event, username string) audit.Event {
	if personActor(e.Actor, username) {
		e.Actor = "withheld"
	}
	for _, raw := range []*json.RawMessage{&e.Before, &e.After} {
		if len(*raw) == 0 {
			continue
		}
		var x any
		if err := json.Unmarshal(*raw, &x); err != nil {
			*raw = nil
			continue
		}
		b, err := json.Marshal(withhold(x, username))
		if err != nil {
			*raw = nil
			continue
		}
		*raw = b
	}
	return e
}
