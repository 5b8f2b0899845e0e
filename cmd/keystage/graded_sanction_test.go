package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/ldapserver/ldaptest"
	"keystage.dev/keystage/radius/radiustest"
)

// Graded sanctions through the real frontends: a suspension refuses only
// the services its scope covers.
func TestGradedSanctionsOnEveryService(t *testing.T) {
	ctx := context.Background()
	ldap, wifi, portal := directory.ServiceLDAP, directory.ServiceWiFi, directory.ServicePortal
	suspend := func(scope directory.SuspensionScope, liftRole string) func(*testing.T, *proofFrontend, *proofUser) {
		return func(t *testing.T, f *proofFrontend, u *proofUser) {
			if _, err := f.d.Suspend(ctx, "test", u.a, directory.Suspension{Scope: scope, LiftRole: liftRole, Reason: "proof"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []proofCase{
		{name: "all", edit: suspend(directory.SuspendAll, ""), allowed: []directory.Service{portal}},
		{name: "internet only", edit: suspend(directory.SuspendInternet, ""), allowed: []directory.Service{ldap, portal}},
		{name: "desktop login only", edit: suspend(directory.SuspendService(ldap), ""), allowed: []directory.Service{wifi, portal}},
		{name: "wifi only", edit: suspend(directory.SuspendService(wifi), ""), allowed: []directory.Service{ldap, portal}},
		{name: "portal only", edit: suspend(directory.SuspendService(portal), ""), allowed: []directory.Service{ldap, wifi}},
		{name: "internet until the safeguarding role lifts it", edit: suspend(directory.SuspendInternet, directory.StaffRoleSafeguarding),
			allowed: []directory.Service{ldap, portal}},
	}
	want := map[directory.Service]string{ldap: "keystage: suspended", wifi: "Your network access is suspended", portal: "Your network access is suspended"}
	for _, f := range proofFrontends(t) {
		t.Run(string(f.svc), func(t *testing.T) {
			for i, pc := range cases {
				t.Run(pc.name, func(t *testing.T) {
					u := proofSetup(t, f, pc, i)
					pc.edit(t, f, &u)
					ok, said := f.try(t, u.a.Username, u.wifi)
					if ok != oneOfSvc(f.svc, pc.allowed) {
						t.Fatalf("let in = %v, want %v (%s)", ok, !ok, said)
					}
					if !ok && !strings.Contains(said, want[f.svc]) {
						t.Errorf("said %q, want %q", said, want[f.svc])
					}
				})
			}
		})
	}
}

// The same through programs no one here wrote: Debian's radclient for
// RADIUS and OpenLDAP's ldapwhoami for a desktop login. An internet-only
// suspension refuses RADIUS and still lets the LDAP bind through; an
// all-scope one refuses both.
func TestGradedSanctionsRealPeers(t *testing.T) {
	radclient := needProgram(t, "radclient", "freeradius-utils")
	ldapwhoami := needProgram(t, "ldapwhoami", "ldap-utils")
	ctx := context.Background()
	var ldapFront, radiusFront *proofFrontend
	for _, f := range proofFrontends(t) {
		switch f.svc {
		case directory.ServiceLDAP:
			ldapFront = f
		case directory.ServiceWiFi:
			radiusFront = f
		}
	}
	bind := func(t *testing.T, user string) (bool, string) {
		cmd := exec.Command(ldapwhoami, "-x", "-H", ldapFront.addr, "-D", user+"@"+ldaptest.Domain, "-w", proofPassword)
		cmd.Env = append(os.Environ(), "LDAPTLS_REQCERT=never")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("ldapwhoami: %v", err)
		}
		return err == nil, string(out)
	}
	access := func(t *testing.T, user, password string) (bool, string) {
		cmd := exec.Command(radclient, "-x", "-r", "2", "-t", "3", radiusFront.addr, "auth", radiustest.Secret)
		cmd.Stdin = strings.NewReader("User-Name = " + user + "\nUser-Password = " + password + "\nMessage-Authenticator = 0x00\n")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "Access-Accept") && !strings.Contains(string(out), "Access-Reject") {
			t.Fatalf("radclient had no answer: %s", out)
		}
		return strings.Contains(string(out), "Received Access-Accept"), string(out)
	}
	for i, tc := range []struct {
		scope          directory.SuspensionScope
		ldapOK, wifiOK bool
	}{
		{directory.SuspendInternet, true, false},
		{directory.SuspendAll, false, false},
	} {
		t.Run(string(tc.scope), func(t *testing.T) {
			lu := proofSetup(t, ldapFront, proofCase{}, 20+i)
			ru := proofSetup(t, radiusFront, proofCase{}, 20+i)
			if ok, out := bind(t, lu.a.Username); !ok {
				t.Fatalf("before the suspension, ldapwhoami refused: %s", out)
			}
			if ok, out := access(t, ru.a.Username, ru.wifi); !ok {
				t.Fatalf("before the suspension, radclient was refused: %s", out)
			}
			for _, f := range []struct {
				f *proofFrontend
				u proofUser
			}{{ldapFront, lu}, {radiusFront, ru}} {
				if _, err := f.f.d.Suspend(ctx, "cli:dsl", f.u.a, directory.Suspension{Scope: tc.scope, Reason: "misuse of chat"}); err != nil {
					t.Fatal(err)
				}
			}
			if ok, out := bind(t, lu.a.Username); ok != tc.ldapOK {
				t.Errorf("ldapwhoami let in = %v, want %v: %s", ok, tc.ldapOK, out)
			} else if !ok && !strings.Contains(out, "keystage: suspended") {
				t.Errorf("ldapwhoami said %q, want the suspended diagnostic", out)
			}
			if ok, out := access(t, ru.a.Username, ru.wifi); ok != tc.wifiOK {
				t.Errorf("radclient accepted = %v, want %v: %s", ok, tc.wifiOK, out)
			} else if !ok && !strings.Contains(out, "suspended") {
				t.Errorf("radclient's reject carries no reason: %s", out)
			}
		})
	}
}
