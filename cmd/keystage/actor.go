package main

import (
	"os"
	"os/user"
)

// actor names who runs a command, for the audit trail: the operating
// system user, or KEYSTAGE_ACTOR when a wrapper runs commands for a person.
func (e *env) actor() string {
	if e.as != "" {
		// --as names the person (docs/trusts.md): their school bounds the command.
		return "cli:" + e.as
	}
	if v := os.Getenv("KEYSTAGE_ACTOR"); v != "" {
		return "cli:" + v
	}
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}
