package ldapserver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// TestBindPasswordPolicyControl: a client that asks for the password
// policy control, as SSSD and nslcd do on every bind, learns that a
// suspended account is locked; a wrong password, an unsigned AUP and a
// client that did not ask get no control.
func TestBindPasswordPolicyControl(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	bind := func(user, pw string, ask bool) (*ldap.SimpleBindResult, error) {
		t.Helper()
		l := dial(t, srv)
		req := ldap.NewSimpleBindRequest(person(user), pw, nil)
		if ask {
			req.Controls = []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}
		}
		return l.SimpleBind(req)
	}
	policy := func(res *ldap.SimpleBindResult) *ldap.ControlBeheraPasswordPolicy {
		if res == nil {
			return nil
		}
		c, _ := ldap.FindControl(res.Controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy)
		return c
	}

	res, err := bind(ldaptest.Suspended, ldaptest.OtherPassword, true)
	var le *ldap.Error
	if !ldap.IsErrorWithCode(err, 49) {
		t.Fatalf("suspended: %v; want invalidCredentials", err)
	}
	if p := policy(res); p == nil || p.Error != 1 || p.ErrorString != "Account locked" {
		t.Errorf("suspended: password policy control %+v; want error accountLocked (1)", p)
	}
	if !errors.As(err, &le) || !strings.Contains(le.Err.Error(), "keystage: suspended") {
		t.Errorf("suspended: diagnostic %q does not say why", le.Err)
	}

	if res, err := bind(ldaptest.Suspended, ldaptest.OtherPassword, false); !ldap.IsErrorWithCode(err, 49) || policy(res) != nil {
		t.Errorf("a client that did not ask got the control: %v %+v", err, res)
	}
	if res, err := bind(ldaptest.Suspended, "wrong-password", true); !ldap.IsErrorWithCode(err, 49) || policy(res) != nil {
		t.Errorf("a wrong password must not say the account is locked: %v %+v", err, policy(res))
	}
	if res, err := bind(ldaptest.Leaver, ldaptest.OtherPassword, true); !ldap.IsErrorWithCode(err, 49) || policy(res) == nil || policy(res).Error != 1 {
		t.Errorf("leaver: %v %+v", err, policy(res))
	}
	if res, err := bind(ldaptest.Unsigned, ldaptest.OtherPassword, true); !ldap.IsErrorWithCode(err, 49) || policy(res) != nil {
		t.Errorf("unsigned AUP: %v %+v; want the diagnostic only", err, policy(res))
	}
	if res, err := bind(ldaptest.Teacher, ldaptest.TeacherPassword, true); err != nil || policy(res) != nil {
		t.Errorf("a good bind: %v %+v", err, policy(res))
	}
}
