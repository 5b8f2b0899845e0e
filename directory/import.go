package directory

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory/ldif"
	"keystage.dev/keystage/passwords"
)

// Taking over an old directory (OpenLDAP, Active Directory, Samba): its
// entries are matched to accounts, and each person's password hash is
// carried over so that they sign in with the password they had. A plan is
// made first and shown; ApplyImport stores it in one transaction.

// ImportMatch is how entries are matched to accounts.
type ImportMatch string

// The ways to match.
const (
	// MatchMISID: an attribute of the entry (ImportOptions.MISAttribute,
	// employeeNumber by default) holds the MIS id.
	MatchMISID ImportMatch = "mis-id"
	// MatchEmployeeID: Active Directory's employeeID holds the MIS id.
	MatchEmployeeID ImportMatch = "employeeID"
	// MatchUsername: uid (OpenLDAP) or sAMAccountName (Active Directory)
	// is the Keystage username.
	MatchUsername ImportMatch = "username"
)

// ParseImportMatch reads --match.
func ParseImportMatch(s string) (ImportMatch, error) {
	for _, m := range []ImportMatch{MatchMISID, MatchEmployeeID, MatchUsername} {
		if strings.EqualFold(s, string(m)) {
			return m, nil
		}
	}
	return "", fmt.Errorf("match %q: want mis-id, employeeID or username", s)
}

// ImportOptions say how to read and match an export.
type ImportOptions struct {
	Match        ImportMatch
	MISAttribute string // for MatchMISID; "" is employeeNumber
	// CreateMissing makes a manual account, of CreateRole, for a person
	// no account matches (governors, service accounts).
	CreateMissing bool
	CreateRole    Role
	// WiFiFromNT makes an imported NT hash the person's Wi-Fi credential
	// as well, so that MS-CHAPv2 (PEAP) works at once. It makes their
	// login password their Wi-Fi password, which Keystage otherwise keeps
	// apart: off unless asked for.
	WiFiFromNT bool
}

// ImportTake is one entry the plan takes over. Secret is the hash to store:
// never printed, logged or put in an event.
type ImportTake struct {
	DN       string
	Username string
	Account  Account // ID 0: created by ApplyImport
	Create   bool
	Scheme   string
	Secret   string
	NTHash   []byte // when the entry had one and WiFiFromNT is set
}

// ImportIgnored is an entry the plan leaves, with the reason in plain words.
type ImportIgnored struct {
	DN     string
	Reason string
}

// ImportPlan is what ApplyImport would do.
type ImportPlan struct {
	Options ImportOptions
	Take    []ImportTake
	Ignored []ImportIgnored
}

// builtInAD are the accounts every Active Directory domain has; they are
// the old domain's own, not people.
var builtInAD = map[string]bool{"krbtgt": true, "guest": true, "administrator": true, "defaultaccount": true, "wdagutilityaccount": true}

// uacDisabled is userAccountControl's ACCOUNTDISABLE bit.
const uacDisabled = 2

// PlanImport reads the entries and decides, for each, what the import would
// do. It changes nothing.
func (d *Directory) PlanImport(ctx context.Context, entries []ldif.Entry, o ImportOptions) (ImportPlan, error) {
	if _, err := ParseImportMatch(string(o.Match)); err != nil {
		return ImportPlan{}, err
	}
	if o.MISAttribute == "" {
		o.MISAttribute = "employeeNumber"
	}
	if o.CreateRole == "" {
		o.CreateRole = RoleStaff
	}
	plan := ImportPlan{Options: o}
	taken := map[string]string{} // username → DN that took it
	for _, e := range entries {
		t, why, err := d.planEntry(ctx, e, o)
		if err != nil {
			return ImportPlan{}, err
		}
		if why == "" {
			if dn, dup := taken[t.Username]; dup {
				why = "matches the same account (" + t.Username + ") as " + dn
			}
		}
		if why != "" {
			plan.Ignored = append(plan.Ignored, ImportIgnored{DN: e.DN, Reason: why})
			continue
		}
		taken[t.Username] = e.DN
		plan.Take = append(plan.Take, t)
	}
	return plan, nil
}

// planEntry returns what to take from e, or why it is ignored.
func (d *Directory) planEntry(ctx context.Context, e ldif.Entry, o ImportOptions) (ImportTake, string, error) {
	t := ImportTake{DN: e.DN}
	login := e.First("sAMAccountName")
	if login == "" {
		login = e.First("uid")
	}
	switch {
	case e.Has("objectClass", "computer") || strings.HasSuffix(login, "$"):
		return t, "a computer account, not a person", nil
	case login == "":
		return t, "not a user entry (no uid or sAMAccountName): a container, group or other object", nil
	case builtInAD[strings.ToLower(login)] || strings.EqualFold(e.First("isCriticalSystemObject"), "TRUE"):
		return t, "a built-in account of the old domain", nil
	}
	if uac := e.First("userAccountControl"); uac != "" {
		if n, err := strconv.ParseInt(uac, 10, 64); err == nil && n&uacDisabled != 0 {
			return t, "disabled in Active Directory (userAccountControl)", nil
		}
	}

	// The password: a supported userPassword first, else the NT hash.
	var unusable []string
	for _, v := range e.Values("userPassword") {
		scheme, err := passwords.Scheme(string(v))
		if err != nil {
			unusable = append(unusable, schemeReason(scheme, err))
			continue
		}
		t.Scheme, t.Secret = scheme, string(v)
		break
	}
	var nt []byte
	if v := e.Values("unicodePwd"); len(v) > 0 {
		if len(v[0]) != 16 {
			unusable = append(unusable, "unicodePwd is not a 16-byte NT hash")
		} else {
			nt = v[0]
		}
	}
	if t.Secret == "" && nt != nil {
		enc, err := passwords.EncodeNTHash(nt)
		if err != nil {
			return t, "", err
		}
		t.Scheme, t.Secret = passwords.SchemeNT, enc
	}
	if t.Secret == "" {
		if len(unusable) > 0 {
			return t, strings.Join(unusable, "; "), nil
		}
		return t, "no password hash (userPassword or unicodePwd) in the entry", nil
	}
	if o.WiFiFromNT && nt != nil {
		t.NTHash = nt
	}

	// The account.
	var key, attr string
	var a Account
	var err error
	switch o.Match {
	case MatchUsername:
		attr, key = "uid/sAMAccountName", strings.ToLower(login)
		if key != "" {
			a, err = d.Store().AccountByUsername(ctx, key)
		}
	case MatchEmployeeID:
		attr, key = "employeeID", e.First("employeeID")
	default:
		attr, key = o.MISAttribute, e.First(o.MISAttribute)
	}
	if o.Match != MatchUsername && key != "" {
		a, err = d.Store().AccountByMISID(ctx, key)
	}
	if key == "" {
		if !o.CreateMissing {
			return t, "no " + attr + " to match on", nil
		}
		err = ErrNotFound
	}
	switch {
	case err == nil:
		t.Account, t.Username = a, a.Username
	case errors.Is(err, ErrNotFound):
		if !o.CreateMissing {
			return t, fmt.Sprintf("no Keystage account has %s %q (--create-missing makes a manual one)", attr, key), nil
		}
		user := strings.ToLower(login)
		if verr := ValidUsername(user); verr != nil {
			return t, fmt.Sprintf("cannot create an account: %v", verr), nil
		}
		if _, err := d.Store().AccountByUsername(ctx, user); err == nil {
			return t, fmt.Sprintf("no account matches by %s, and the username %s is taken by another", attr, user), nil
		} else if !errors.Is(err, ErrNotFound) {
			return t, "", err
		}
		t.Create, t.Username = true, user
		t.Account = Account{Username: user, Role: o.CreateRole, Source: SourceManual, Status: StatusActive,
			GivenName: e.First("givenName"), FamilyName: e.First("sn"), Email: e.First("mail")}
		if verr := t.Account.Validate(); verr != nil {
			return t, fmt.Sprintf("cannot create an account: %v", verr), nil
		}
		return t, "", nil
	default:
		return t, "", err
	}
	creds, err := d.Store().Credentials(ctx, a.ID, CredPassword)
	if err != nil {
		return t, "", err
	}
	now := d.Now()
	for _, c := range creds {
		if c.Live(now) {
			return t, "the account " + a.Username + " already has a Keystage password", nil
		}
	}
	return t, "", nil
}

func schemeReason(scheme string, err error) string {
	switch {
	case errors.Is(err, passwords.ErrYescrypt):
		// The detail after ErrYescrypt's own words: N, r, p and the memory.
		detail := strings.TrimPrefix(err.Error(), passwords.ErrYescrypt.Error()+": ")
		return "yescrypt ({CRYPT}$y$) with parameters above what Keystage computes (" + detail + "): issue this person a first password"
	case errors.Is(err, passwords.ErrMalformedHash):
		return "userPassword (" + scheme + ") does not parse"
	}
	return "userPassword in a scheme Keystage cannot verify (" + strings.TrimPrefix(err.Error(), "passwords: ") + "): issue this person a first password"
}

// ApplyImport stores the plan in one transaction: the accounts it creates,
// each password hash (upgraded to argon2id on the next sign-in) and, when
// asked, the Wi-Fi credentials from NT hashes, each with its audit event
// (the scheme and the old DN, never the hash).
func (d *Directory) ApplyImport(ctx context.Context, actor string, plan ImportPlan) error {
	type sealedNT struct{ secret, keyID string }
	wifi := make(map[int]sealedNT)
	for i, t := range plan.Take {
		if len(t.NTHash) != 16 {
			continue
		}
		sealed, keyID, err := d.SealChecked(ctx, []byte(WiFiNTCredential(t.NTHash)), []byte(SealWiFi))
		if err != nil {
			return fmt.Errorf("import: sealing the Wi-Fi credential of %s: %w", t.Username, err)
		}
		wifi[i] = sealedNT{sealed, keyID}
	}
	now := d.Now()
	err := d.Store().Update(ctx, func(ctx context.Context, tx Tx) error {
		for i, t := range plan.Take {
			a := t.Account
			if t.Create {
				if err := tx.CreateAccount(ctx, &a); err != nil {
					return fmt.Errorf("%s: %w", t.Username, err)
				}
				if err := d.Record(ctx, tx, actor, audit.ActionAccountCreate, audit.AccountTarget(a.Username), nil, a.Snapshot()); err != nil {
					return err
				}
			}
			creds, err := tx.Credentials(ctx, a.ID, CredPassword)
			if err != nil {
				return err
			}
			for _, c := range creds {
				if c.Live(now) {
					return fmt.Errorf("%s: %w: it has a Keystage password since the plan was made; make the plan again", a.Username, ErrConflict)
				}
			}
			c := Credential{AccountID: a.ID, Kind: CredPassword, Secret: t.Secret, CreatedAt: now}
			if err := tx.AddCredential(ctx, &c); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionPasswordImport, audit.AccountTarget(a.Username), nil,
				map[string]any{"credential_id": c.ID, "scheme": t.Scheme, "from": t.DN}); err != nil {
				return err
			}
			if w, ok := wifi[i]; ok {
				if err := RevokeWiFiCredentials(ctx, tx, a.ID, now); err != nil {
					return err
				}
				wc := Credential{AccountID: a.ID, Kind: CredWiFi, Secret: w.secret, KeyID: w.keyID, CreatedAt: now}
				if err := tx.AddCredential(ctx, &wc); err != nil {
					return err
				}
				if err := d.Record(ctx, tx, actor, audit.ActionWiFiIssue, audit.AccountTarget(a.Username), nil,
					map[string]any{"credential_id": wc.ID, "key_id": wc.KeyID, "from": "imported NT hash"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import: %w; nothing was stored", err)
	}
	return nil
}

// wifiNTPrefix marks a sealed Wi-Fi credential that holds an NT hash
// imported from Active Directory rather than a password: MS-CHAPv2 needs
// only the hash, PAP and TTLS-PAP cannot use it. The NUL cannot begin a
// generated credential.
const wifiNTPrefix = "\x00nt-hash:"

// WiFiNTCredential is the Wi-Fi credential, before it is sealed, that
// holds an imported NT hash.
func WiFiNTCredential(nt []byte) string {
	return wifiNTPrefix + hex.EncodeToString(nt)
}

// WiFiNTHash returns the NT hash of a Wi-Fi credential made from an
// imported NT hash (see ImportOptions.WiFiFromNT), as WiFiSecret opens it.
func WiFiNTHash(secret string) ([]byte, bool) {
	h, ok := strings.CutPrefix(secret, wifiNTPrefix)
	if !ok {
		return nil, false
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 {
		return nil, false
	}
	return b, true
}
