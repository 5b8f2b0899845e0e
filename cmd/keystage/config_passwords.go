package main

import (
	"sort"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/portal"
)

// PasswordsSection sets the hashing cost and the password policies.
type PasswordsSection struct {
	Argon2 Argon2Section `toml:"argon2"`
	// Roles picks a policy by role; pupils by key stage.
	Roles PolicyRoles `toml:"roles"`
	// Policy overrides settings of a built-in policy or defines a new one.
	Policy map[string]PolicySection `toml:"policy"`
	// First is how first passwords are given (keystage password issue
	// and reset, and the portal).
	First FirstPasswordsSection `toml:"first"`
}

// FirstPasswordsSection configures first passwords: one-time passwords on
// a slip, changed at the first sign-in.
type FirstPasswordsSection struct {
	// ExpiryDays: an unused first password stops working after this many
	// days.
	ExpiryDays int `toml:"expiry_days"`
	// TeachersIssue lets a teacher issue and reset first passwords in the
	// portal for the pupils of their own registration and class groups
	// (technicians may for anyone).
	TeachersIssue bool `toml:"teachers_issue"`
	// WiFi is what a slip says about joining the Wi-Fi; empty: the
	// network name from [portal] and where the Wi-Fi password is found.
	WiFi string `toml:"wifi"`
	// Forgotten is the sign-in page's "forgotten your password?" line:
	// whom a pupil asks.
	Forgotten string `toml:"forgotten"`
}

// portal is the portal's part of the section.
func (f FirstPasswordsSection) portal() portal.FirstPasswordSettings {
	return portal.FirstPasswordSettings{Expiry: f.expiry(), TeachersIssue: f.TeachersIssue, WiFi: f.WiFi, Forgotten: f.Forgotten}
}

// expiry is how long an unused first password lasts.
func (f FirstPasswordsSection) expiry() time.Duration {
	return time.Duration(f.ExpiryDays) * 24 * time.Hour
}

// Argon2Section is the argon2id cost of login password hashes. Raising it
// rehashes each password at its next successful sign-in.
type Argon2Section struct {
	MemoryKiB   uint32 `toml:"memory_kib"`
	Iterations  uint32 `toml:"iterations"`
	Parallelism uint8  `toml:"parallelism"`
}

// PolicyRoles names the policy of each role.
type PolicyRoles struct {
	Staff    string `toml:"staff"`
	Service  string `toml:"service"`
	Guest    string `toml:"guest"`
	PupilKS1 string `toml:"pupil_ks1"` // Reception to Year 2
	PupilKS2 string `toml:"pupil_ks2"` // Years 3 to 6
	Pupil    string `toml:"pupil"`     // Year 7 and up
}

// PolicySection is one policy's settings; unset ones keep the built-in
// policy's value (or the staff policy's, for a new name).
type PolicySection struct {
	MinLength   *int  `toml:"min_length"`
	MaxLength   *int  `toml:"max_length"`
	MinClasses  *int  `toml:"min_classes"`
	NoRepeats   *bool `toml:"no_repeats"`
	FragmentLen *int  `toml:"fragment_length"`
	MinScore    *int  `toml:"min_score"`
	History     *int  `toml:"history"`
}

func defaultPasswords() PasswordsSection {
	p := passwords.DefaultArgon2Params()
	return PasswordsSection{
		Argon2: Argon2Section{MemoryKiB: p.Memory, Iterations: p.Iterations, Parallelism: p.Parallelism},
		Roles:  PolicyRoles{Staff: "staff", Service: "staff", Guest: "guest", PupilKS1: "pupil-ks1", PupilKS2: "pupil-ks2", Pupil: "staff"},
		First: FirstPasswordsSection{ExpiryDays: directory.DefaultFirstPasswordDays, TeachersIssue: true,
			Forgotten: "Forgotten your password? Pupils: ask your form tutor or the IT office for a new first password. Staff: ask the IT office."},
	}
}

// policies are the built-in policies with the configuration's overrides.
func (s PasswordsSection) policies() map[string]passwords.Policy {
	out := passwords.DefaultPolicies()
	for name, o := range s.Policy {
		p, ok := out[name]
		if !ok {
			p = out["staff"]
			p.Name = name
		}
		set := func(dst *int, v *int) {
			if v != nil {
				*dst = *v
			}
		}
		set(&p.MinLength, o.MinLength)
		set(&p.MaxLength, o.MaxLength)
		set(&p.MinClasses, o.MinClasses)
		set(&p.FragmentLen, o.FragmentLen)
		set(&p.MinScore, o.MinScore)
		set(&p.History, o.History)
		if o.NoRepeats != nil {
			p.NoRepeats = *o.NoRepeats
		}
		out[name] = p
	}
	return out
}

// policyFor picks the policy name of an account from the roles table.
func (s PasswordsSection) policyFor(a directory.Account) string {
	switch a.Role {
	case directory.RoleService:
		return s.Roles.Service
	case directory.RoleGuest:
		return s.Roles.Guest
	case directory.RolePupil:
		switch directory.PolicyName(a) {
		case "pupil-ks1":
			return s.Roles.PupilKS1
		case "pupil-ks2":
			return s.Roles.PupilKS2
		}
		return s.Roles.Pupil
	}
	return s.Roles.Staff
}

func (s *PasswordsSection) validate(p *problems) {
	params := passwords.Argon2Params{Memory: s.Argon2.MemoryKiB, Iterations: s.Argon2.Iterations, Parallelism: s.Argon2.Parallelism, SaltLen: 16, KeyLen: 32}
	if err := params.Validate(); err != nil {
		p.add("passwords.argon2: %v", err)
	}
	if s.First.ExpiryDays < 1 || s.First.ExpiryDays > 90 {
		p.add("passwords.first.expiry_days = %d: want 1 to 90 days", s.First.ExpiryDays)
	}
	pols := s.policies()
	for _, name := range sortedKeys(pols) {
		if err := pols[name].Validate(); err != nil {
			p.add("passwords.policy.%s: %v", name, err)
		}
	}
	for role, name := range map[string]string{"staff": s.Roles.Staff, "service": s.Roles.Service, "guest": s.Roles.Guest,
		"pupil_ks1": s.Roles.PupilKS1, "pupil_ks2": s.Roles.PupilKS2, "pupil": s.Roles.Pupil} {
		if _, ok := pols[name]; !ok {
			p.add("passwords.roles.%s: no policy named %q (have: %v)", role, name, sortedKeys(pols))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const examplePasswords = `
[passwords.argon2]
# argon2id cost of login password hashes (OWASP's first profile). Raising it
# rehashes each password at its next successful sign-in.
memory_kib = 19456
iterations = 2
parallelism = 1

[passwords.roles]
# Which policy each role follows. Built in: staff (all six rules of the
# AUP: 8 characters, 3 of 4 classes, no repeats, no part of the username or
# names, not a dictionary word, not one of the last 5), pupil-ks2, pupil-ks1,
# guest.
staff = "staff"
service = "staff"
guest = "guest"
pupil_ks1 = "pupil-ks1"   # Reception to Year 2
pupil_ks2 = "pupil-ks2"   # Years 3 to 6
pupil = "staff"           # Year 7 and up

# Override a setting of a policy, or define a new one (starting from staff):
# [passwords.policy.staff]
# min_length = 10
# min_classes = 3
# no_repeats = true
# fragment_length = 3
# min_score = 3
# history = 5

[passwords.first]
# First passwords (keystage password issue and reset, and the portal): an
# unused one stops working after this many days.
expiry_days = 14
# Teachers may issue and reset them in the portal for the pupils of their
# own registration and class groups (technicians may for anyone).
teachers_issue = true
# What a slip says about the Wi-Fi; empty: the network name from [portal].
wifi = ""
# The sign-in page's "forgotten your password?" line.
forgotten = "Forgotten your password? Pupils: ask your form tutor or the IT office for a new first password. Staff: ask the IT office."
`
