package ldapserver

import (
	"context"
	"errors"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"

	"keystage.dev/keystage/directory"
)

func (c *conn) extended(ctx context.Context, m *message) {
	x, err := decodeExtended(m.op)
	if err != nil {
		c.reply(m.id, result(appExtendedResponse, resultProtocolError, "", err.Error()))
		return
	}
	switch x.name {
	case oidWhoAmI:
		// RFC 4532: the authzId, "dn:..." or empty for anonymous.
		p := result(appExtendedResponse, resultSuccess, "", "")
		if id := c.identity(); !id.anonymous() {
			p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 11, "dn:"+id.dn, "responseValue"))
		}
		c.reply(m.id, p)
	case oidPasswordModify:
		code, diag := c.passwordModify(ctx, x)
		c.reply(m.id, result(appExtendedResponse, code, "", diag))
	default:
		c.reply(m.id, result(appExtendedResponse, resultProtocolError, "", "extended operation "+x.name+" is not supported"))
	}
}

// passwordModify lets a bound person change their own password (RFC
// 3062). Generating a password is not offered: a password someone is
// given is one they did not choose and will write down.
func (c *conn) passwordModify(ctx context.Context, x extendedRequest) (int, string) {
	req, err := decodePasswdModify(x.value)
	if err != nil {
		return resultProtocolError, err.Error()
	}
	id := c.identity()
	switch {
	case id.anonymous():
		return resultInsufficientAccess, "bind as yourself first to change your password"
	case !c.secure() && !c.loopback() && !c.s.cfg.AllowCleartextBinds:
		return resultConfidentialityReq, "a password change in clear text is refused: use StartTLS or ldaps://"
	case !req.hasNew || req.newPassword == "":
		return resultUnwillingToPerform, "give the new password (ldappasswd -s or -S): Keystage does not generate login passwords"
	}
	if req.user != "" {
		u, _, ok := c.s.tree.bindName(req.user, c.s.cfg.Domain)
		if !ok || u != id.account.Username {
			return resultInsufficientAccess, "you may change only your own password"
		}
	}
	if req.hasOld {
		// Checking the old password again counts a wrong one towards the
		// lockout, so this cannot be used to guess it.
		_, err := c.s.dir.Authenticate(ctx, id.account.Username, req.oldPassword, directory.ServiceLDAP, c.origin())
		var refused *directory.RefusedError
		switch {
		case errors.Is(err, directory.ErrBadCredentials):
			return resultInvalidCredentials, "the old password is wrong"
		case errors.As(err, &refused) && refused.Decision.Reason == directory.ReasonMustChange:
			// The old password is right, and changing it is what the
			// refusal asks for.
		case errors.As(err, &refused):
			return resultInvalidCredentials, diagnostic(refusalData(refused.Decision.Reason), refused.Decision.Reason, refused.Decision.Message(c.s.dir.Gate().Policy.Location))
		case err != nil:
			return resultUnavailable, "the directory is unavailable; try again"
		}
	}
	a, err := c.s.store.Account(ctx, id.account.ID)
	if err != nil {
		return resultUnavailable, "the directory is unavailable; try again"
	}
	vs, err := c.s.dir.ChangePassword(ctx, "ldap:"+a.Username, a, req.newPassword)
	if err != nil {
		c.s.log.Error("ldap password change", "user", a.Username, "err", err)
		return resultUnavailable, "the password could not be changed; try again"
	}
	if len(vs) > 0 {
		// Each rule with its code in brackets, as keystage password check
		// prints it, so that a technician can look the code up.
		msgs := make([]string, len(vs))
		for i, v := range vs {
			msgs[i] = v.Message + " [" + v.Code + "]"
		}
		return resultConstraintViolation, "password not changed: " + strings.Join(msgs, "; ")
	}
	if id.mustChange {
		// Changed: the restriction ends, as OpenLDAP's ppolicy lifts it.
		a.MustChangePassword = false
		c.setIdentity(identity{dn: id.dn, account: a})
	}
	c.s.log.Info("ldap password changed", "user", a.Username, "addr", c.remoteAddr())
	return resultSuccess, ""
}
