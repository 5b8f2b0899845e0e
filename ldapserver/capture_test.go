package ldapserver_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// TestCaptureFixtures records what real clients send (ldapwhoami,
// ldapsearch with paging, ldappasswd) into testdata/*.ber, the seeds of
// the fuzz targets. It runs only with KEYSTAGE_CAPTURE=1: the fixtures are
// committed, and re-capturing is for when a client changes.
func TestCaptureFixtures(t *testing.T) {
	if os.Getenv("KEYSTAGE_CAPTURE") != "1" {
		t.Skip("set KEYSTAGE_CAPTURE=1 to re-capture testdata/*.ber from ldap-utils")
	}
	srv := ldaptest.Start(t, ldaptest.Options{People: 60})
	for _, tc := range []struct {
		name string
		tool string
		args []string
	}{
		{"ldapwhoami-bind", "ldapwhoami", []string{"-x", "-D", person(ldaptest.Pupil), "-w", ldaptest.PupilPassword}},
		{"ldapsearch-paged", "ldapsearch", []string{"-x", "-D", service(ldaptest.Service), "-w", ldaptest.ServicePassword, "-E", "pr=20/noprompt",
			"-b", base, "(&(objectClass=posixAccount)(|(uid=a*)(cn=*smith*)(!(uidNumber<=1000))(mail=*))(uidNumber>=1)(sn~=smith))", "uid", "+", "1.1"}},
		{"ldapsearch-rootdse", "ldapsearch", []string{"-x", "-s", "base", "-b", "", "*", "+"}},
		{"ldappasswd", "ldappasswd", []string{"-x", "-D", person(ldaptest.Teacher), "-w", ldaptest.TeacherPassword, "-a", ldaptest.TeacherPassword, "-s", "Granite-Lantern-Orbit-47"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var rec bytes.Buffer
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				up, err := net.Dial("tcp", srv.Addr)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(c, up)
				io.Copy(io.MultiWriter(up, &rec), c)
			}()
			run(t, srv, true, tc.tool, append([]string{"-H", "ldap://" + ln.Addr().String()}, tc.args...)...)
			wg.Wait()
			if err := os.WriteFile(filepath.Join("testdata", tc.name+".ber"), rec.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}
