package ldapserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// bindKind says which subtree a bind name pointed at.
type bindKind int

const (
	bindAny     bindKind = iota // bare NAME or NAME@domain
	bindPerson                  // uid=NAME,ou=people,BASE
	bindService                 // uid=NAME,ou=services,BASE
)

// bindName turns a bind name into a username: a DN under ou=people or
// ou=services, NAME@domain, or a bare NAME.
func (t *tree) bindName(name, domain string) (string, bindKind, bool) {
	if !strings.Contains(name, "=") {
		if at := strings.LastIndexByte(name, '@'); at >= 0 {
			if domain == "" || !strings.EqualFold(name[at+1:], domain) {
				return "", 0, false
			}
			name = name[:at]
		}
		u := strings.ToLower(name)
		return u, bindAny, directory.ValidUsername(u) == nil
	}
	rdns, err := parseDN(name)
	if err != nil || len(rdns) != len(t.baseRDNs)+2 || strings.Join(rdns[2:], ",") != t.baseNorm {
		return "", 0, false
	}
	u, ok := strings.CutPrefix(rdns[0], "uid=")
	if !ok || directory.ValidUsername(u) != nil {
		return "", 0, false
	}
	switch rdns[1] {
	case "ou=people":
		return u, bindPerson, true
	case "ou=services":
		return u, bindService, true
	}
	return "", 0, false
}

// AD-style data codes for a refused bind: the codes Windows uses where
// one fits (clients and technicians know them), and Keystage's own,
// above the Windows range, for what only a school has.
const (
	dataBadCredentials = "52e"
	dataNotPermitted   = "530" // outside the permitted time: not started yet, suspended
	dataDisabled       = "533"
	dataExpired        = "701"
	dataMustChange     = "773"
	dataLocked         = "775"
	dataAUPUnsigned    = "ks1" // Keystage: the Acceptable Use Policy is not signed
	dataConsent        = "ks2" // Keystage: no parental consent
)

// refusalData maps the gate's reason to a data code.
func refusalData(r directory.Reason) string {
	switch r {
	case directory.ReasonDisabled, directory.ReasonLeft:
		return dataDisabled
	case directory.ReasonNotStarted, directory.ReasonSuspended:
		return dataNotPermitted
	case directory.ReasonLockedOut, directory.ReasonNewDevicesLocked, directory.ReasonDeviceBlocked:
		return dataLocked
	case directory.ReasonMustChange:
		return dataMustChange
	case directory.ReasonAUPUnsigned:
		return dataAUPUnsigned
	case directory.ReasonConsentMissing:
		return dataConsent
	case directory.ReasonCredentialEnded, directory.ReasonNoCredential:
		return dataExpired
	}
	return dataBadCredentials
}

// diagnostic is the diagnosticMessage of a failed bind, in the shape
// Active Directory uses, followed by Keystage's reason and message.
func diagnostic(data string, reason directory.Reason, msg string) string {
	d := "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data " + data + ", v4563"
	if reason != directory.ReasonNone {
		d += " (keystage: " + string(reason) + ": " + msg + ")"
	}
	return d
}

func (c *conn) bind(ctx context.Context, m *message) {
	began := time.Now()
	outcome, why := directory.ResultInvalid, directory.ReasonNone
	// Observed before the reply is written, so that a client that has its
	// answer finds it counted.
	reply := func(code int, diag string) {
		c.s.dir.ObserveSince(began, directory.ServiceLDAP, "bind", outcome, why)
		if ctl := passwordPolicyControl(m, why); len(ctl) > 0 {
			c.reply(m.id, result(appBindResponse, code, "", diag), ctl...)
		} else {
			c.replyBytes(appendResultMessage(nil, m.id, appBindResponse, code, "", diag))
		}
	}
	req, err := m.bindRequest()
	if err != nil {
		reply(resultProtocolError, err.Error())
		return
	}
	// Whatever happens next, the connection is anonymous until a bind
	// succeeds (RFC 4513 section 5.1).
	c.setIdentity(identity{})
	switch {
	case req.version != 3:
		reply(resultProtocolError, "only LDAPv3 is supported")
		return
	case !req.simple:
		reply(resultAuthMethodNotSupported, "only simple bind is supported")
		return
	case req.name == "" && req.password == "":
		outcome = "anonymous"
		reply(resultSuccess, "")
		return
	case req.password == "":
		// An unauthenticated bind (RFC 4513 section 5.1.2) would let an
		// app that forgets to check the password think it succeeded.
		reply(resultUnwillingToPerform, "unauthenticated bind (a name with no password) is refused")
		return
	case !c.secure() && !c.loopback() && !c.s.cfg.AllowCleartextBinds:
		reply(resultConfidentialityReq, "simple bind in clear text is refused: use StartTLS or ldaps://")
		return
	}
	addr := c.remoteAddr()
	username, kind, ok := c.s.tree.bindName(req.name, c.s.cfg.Domain)
	if !ok {
		// Spend what a real check costs and count the failure against the
		// address, so a malformed name tells nothing and gains nothing.
		username = ""
	}
	a, err := c.s.dir.Authenticate(ctx, username, req.password, directory.ServiceLDAP, c.origin())
	var refused *directory.RefusedError
	switch {
	case errors.As(err, &refused) && refused.Decision.Reason == directory.ReasonMustChange && wantsPasswordPolicy(m) &&
		(kind == bindAny || (kind == bindService) == (refused.Account.Role == directory.RoleService)):
		// A first password, from a client that understands the password
		// policy control (SSSD, nslcd): as OpenLDAP after a reset, the
		// bind succeeds with changeAfterReset, and the connection may do
		// nothing but change the password.
		c.s.log.Info("ldap bind with a first password: restricted to the password change", "user", username, "addr", addr)
		c.setIdentity(identity{dn: c.s.tree.accountDN(refused.Account), account: refused.Account, mustChange: true})
		outcome, why = directory.ResultRefused, directory.ReasonMustChange
		reply(resultSuccess, "")
		return
	case errors.As(err, &refused):
		c.s.log.Info("ldap bind refused", "user", username, "addr", addr, "reason", refused.Decision.Reason)
		outcome, why = directory.ResultRefused, refused.Decision.Reason
		reply(resultInvalidCredentials, diagnostic(refusalData(refused.Decision.Reason), refused.Decision.Reason, refused.Decision.Message(c.s.dir.Gate().Policy.Location)))
		return
	case errors.Is(err, directory.ErrBadCredentials):
		c.s.log.Info("ldap bind failed", "user", username, "addr", addr)
		outcome = directory.ResultBadCredentials
		reply(resultInvalidCredentials, diagnostic(dataBadCredentials, directory.ReasonNone, ""))
		return
	case err != nil:
		c.s.log.Error("ldap bind", "user", username, "err", err)
		outcome = directory.ResultError
		reply(resultUnavailable, "the directory is unavailable; try again")
		return
	}
	isService := a.Role == directory.RoleService
	if (kind == bindPerson && isService) || (kind == bindService && !isService) {
		outcome = directory.ResultBadCredentials
		reply(resultInvalidCredentials, diagnostic(dataBadCredentials, directory.ReasonNone, ""))
		return
	}
	c.setIdentity(identity{dn: c.s.tree.accountDN(a), account: a})
	outcome = directory.ResultOK
	if c.s.cfg.Bound != nil {
		c.s.cfg.Bound(ctx, a, addr)
	}
	reply(resultSuccess, "")
}

// String names an identity for logs.
func (id identity) String() string {
	if id.anonymous() {
		return "anonymous"
	}
	return fmt.Sprintf("%s (%s)", id.account.Username, id.account.Role)
}
