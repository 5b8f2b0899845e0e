package ldapserver

import (
	ber "github.com/go-asn1-ber/asn1-ber"

	"keystage.dev/keystage/directory"
)

// The password policy response control (draft-behera-ldap-password-policy,
// what OpenLDAP's ppolicy overlay sends) is how a refused bind says
// "account locked" in a form that PAM clients understand: SSSD and nslcd
// send the request control with every bind and log the error they get
// back. PAM cannot show a server's free text to the person, so this and
// the diagnostic message are all that reach the desktop.
const oidPasswordPolicy = "1.3.6.1.4.1.42.2.27.8.5.1"

// The draft's errors that Keystage sends: accountLocked (1), and
// changeAfterReset (2) for a bind with a first password, which an
// administrator's reset gives in OpenLDAP (pwdReset).
const (
	ppolicyAccountLocked    = 1
	ppolicyChangeAfterReset = 2
)

// restrictedDiagnostic is OpenLDAP's answer to any request but the
// password change on a connection bound with a password that must be
// changed.
const restrictedDiagnostic = "Operations are restricted to bind/unbind/abandon/StartTLS/modify password: change the password first"

// isPasswordModify reports whether m is the Password Modify extended
// operation.
func isPasswordModify(m *message) bool {
	if m.tag != appExtendedRequest {
		return false
	}
	x, err := decodeExtended(m.op)
	return err == nil && x.name == oidPasswordModify
}

// wantsPasswordPolicy reports whether a request carries the password
// policy request control: the response control is sent only then.
func wantsPasswordPolicy(m *message) bool {
	for _, c := range m.controls {
		if c.oid == oidPasswordPolicy {
			return true
		}
	}
	return false
}

// passwordPolicyError is the draft's error for a gate refusal, and
// whether there is one: accountLocked for an account that may not sign in
// whatever the password (suspended, disabled, left, not started, locked
// out). An unsigned AUP or missing consent has no error in the draft: the
// diagnostic message says it.
func passwordPolicyError(r directory.Reason) (int64, bool) {
	switch r {
	case directory.ReasonSuspended, directory.ReasonDisabled, directory.ReasonLeft,
		directory.ReasonNotStarted, directory.ReasonLockedOut:
		return ppolicyAccountLocked, true
	case directory.ReasonMustChange:
		return ppolicyChangeAfterReset, true
	}
	return 0, false
}

// passwordPolicyControl is the response control for a refusal (or for a
// first password's restricted bind) when the request asked for it; nil
// otherwise.
func passwordPolicyControl(m *message, r directory.Reason) []*ber.Packet {
	code, ok := passwordPolicyError(r)
	if !ok || !wantsPasswordPolicy(m) {
		return nil
	}
	// PasswordPolicyResponseValue ::= SEQUENCE { warning [0] … OPTIONAL,
	// error [1] ENUMERATED OPTIONAL }
	v := ber.NewSequence("PasswordPolicyResponseValue")
	v.AppendChild(ber.NewInteger(ber.ClassContext, ber.TypePrimitive, 1, code, "error"))
	c := ber.NewSequence("Control")
	c.AppendChild(octets(oidPasswordPolicy, "controlType"))
	c.AppendChild(octets(string(v.Bytes()), "controlValue"))
	return []*ber.Packet{c}
}
