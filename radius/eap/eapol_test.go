package eap

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/microsoft"
)

// radiusShim is the smallest RADIUS server that can carry EAP for
// eapol_test: Message-Authenticator checked and signed, EAP-Message split
// into 253-byte attributes, State, and the MS-MPPE keys (RFC 2548). The
// real server in package radius replaces it; it stays here so that the EAP
// engine is proven against a peer no one here wrote.
type radiusShim struct {
	conn   net.PacketConn
	secret []byte
	srv    *Server
	wg     sync.WaitGroup

	mu      sync.Mutex
	results []Result
}

func startShim(t *testing.T, srv *Server, secret string) *radiusShim {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sh := &radiusShim{conn: conn, secret: []byte(secret), srv: srv}
	sh.wg.Add(1)
	go sh.serve(t)
	t.Cleanup(func() {
		conn.Close()
		sh.wg.Wait()
	})
	return sh
}

func (sh *radiusShim) port() int { return sh.conn.LocalAddr().(*net.UDPAddr).Port }

func (sh *radiusShim) serve(t *testing.T) {
	defer sh.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, from, err := sh.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		reply, err := sh.answer(bytes.Clone(buf[:n]))
		if err != nil {
			t.Logf("radius shim: %v", err)
			continue
		}
		sh.conn.WriteTo(reply, from)
	}
}

// messageAuthenticator computes HMAC-MD5 over the packet with the
// Message-Authenticator value zeroed; off is the value's offset.
func messageAuthenticator(pkt []byte, off int, secret []byte) []byte {
	b := bytes.Clone(pkt)
	clear(b[off : off+16])
	m := hmac.New(md5.New, secret)
	m.Write(b)
	return m.Sum(nil)
}

// findAttr returns the value offset of the first attribute of type typ.
func findAttr(pkt []byte, typ byte) int {
	for i := 20; i+2 <= len(pkt); {
		l := int(pkt[i+1])
		if l < 2 || i+l > len(pkt) {
			return -1
		}
		if pkt[i] == typ {
			return i + 2
		}
		i += l
	}
	return -1
}

func (sh *radiusShim) answer(raw []byte) ([]byte, error) {
	req, err := radius.Parse(raw, sh.secret)
	if err != nil {
		return nil, err
	}
	if req.Code != radius.CodeAccessRequest {
		return nil, fmt.Errorf("code %v", req.Code)
	}
	off := findAttr(raw, byte(rfc2869.MessageAuthenticator_Type))
	if off < 0 || off+16 > len(raw) || !hmac.Equal(raw[off:off+16], messageAuthenticator(raw, off, sh.secret)) {
		return nil, errors.New("missing or wrong Message-Authenticator")
	}
	var eapMsg []byte
	for _, a := range req.Attributes {
		if a.Type == rfc2869.EAPMessage_Type {
			eapMsg = append(eapMsg, a.Attribute...)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := sh.srv.Handle(ctx, Origin{NAS: "eapol_test", Station: rfc2865.CallingStationID_GetString(req)}, rfc2865.State_Get(req), eapMsg)
	if err != nil {
		return nil, err
	}
	code := map[Outcome]radius.Code{Challenge: radius.CodeAccessChallenge, Accept: radius.CodeAccessAccept, Reject: radius.CodeAccessReject}[res.Outcome]
	resp := req.Response(code)
	resp.Add(rfc2869.MessageAuthenticator_Type, make([]byte, 16)) // first, as BlastRADIUS advice asks
	for m := res.EAPMessage; len(m) > 0; {
		n := min(len(m), 253)
		resp.Add(rfc2869.EAPMessage_Type, m[:n])
		m = m[n:]
	}
	switch res.Outcome {
	case Challenge:
		rfc2865.State_Set(resp, res.State)
	case Accept:
		rfc2865.UserName_SetString(resp, res.Username)
		if err := microsoft.MSMPPERecvKey_Add(resp, res.MSK[:32]); err != nil {
			return nil, err
		}
		if err := microsoft.MSMPPESendKey_Add(resp, res.MSK[32:64]); err != nil {
			return nil, err
		}
	case Reject:
		rfc2865.ReplyMessage_SetString(resp, res.Reason)
	}
	if res.Outcome != Challenge {
		sh.mu.Lock()
		sh.results = append(sh.results, res)
		sh.mu.Unlock()
	}
	b, err := resp.MarshalBinary() // authenticator field holds the request's
	if err != nil {
		return nil, err
	}
	copy(b[22:38], messageAuthenticator(b, 22, sh.secret))
	h := md5.New()
	h.Write(b[:4])
	h.Write(req.Authenticator[:])
	h.Write(b[20:])
	h.Write(sh.secret)
	copy(b[4:20], h.Sum(nil))
	return b, nil
}

func (sh *radiusShim) outcomes() []Result {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return append([]Result(nil), sh.results...)
}

// eapolTest finds eapol_test, skipping outside CI when it is missing.
func eapolTest(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("eapol_test")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("eapol_test not installed (Debian package eapoltest); CI must have it")
		}
		t.Skip("eapol_test not installed: apt-get install eapoltest to run this proof")
	}
	return path
}

var mppeLine = regexp.MustCompile(`MPPE keys OK: (\d+)\s+mismatch: (\d+)`)

func TestEapolTest(t *testing.T) {
	bin := eapolTest(t)
	for _, tc := range []struct {
		name, eap, phase2, user, password string
		fragment                          int
		ok                                bool
		domain                            string // domain_suffix_match, default the certificate's
	}{
		{"PEAP-MSCHAPv2", "PEAP", "auth=MSCHAPV2", "alice", "correct horse battery", 0, true, ""},
		{"TTLS-PAP", "TTLS", "auth=PAP", "alice", "correct horse battery", 0, true, ""},
		{"TTLS-MSCHAPv2", "TTLS", "auth=MSCHAPV2", "alice", "correct horse battery", 0, true, ""},
		{"PEAP-MSCHAPv2 small fragments", "PEAP", "auth=MSCHAPV2", "alice", "correct horse battery", 100, true, ""},
		{"PEAP-MSCHAPv2 wrong password", "PEAP", "auth=MSCHAPV2", "alice", "wrong", 0, false, ""},
		{"TTLS-PAP wrong password", "TTLS", "auth=PAP", "alice", "wrong", 0, false, ""},
		{"TTLS-MSCHAPv2 wrong password", "TTLS", "auth=MSCHAPV2", "alice", "wrong", 0, false, ""},
		{"PEAP-MSCHAPv2 suspended", "PEAP", "auth=MSCHAPV2", "bob", "Tr0ub4dor&3", 0, false, ""},
		{"PEAP-MSCHAPv2 domain mismatch", "PEAP", "auth=MSCHAPV2", "alice", "correct horse battery", 0, false, "radius.other.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				if tc.fragment != 0 {
					c.FragmentSize = tc.fragment
				}
			})
			sh := startShim(t, f.srv, "testing123")
			dir := t.TempDir()
			ca := filepath.Join(dir, "ca.pem")
			if err := os.WriteFile(ca, f.pki.caPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			frag := ""
			if tc.fragment != 0 {
				frag = fmt.Sprintf("\tfragment_size=%d\n", tc.fragment)
			}
			conf := fmt.Sprintf(`network={
	ssid="keystage"
	key_mgmt=WPA-EAP
	eap=%s
	identity=%q
	anonymous_identity="anonymous@school.test"
	password=%q
	phase1="peapver=0"
	phase2=%q
	ca_cert=%q
	domain_suffix_match=%q
%s}
`, tc.eap, tc.user, tc.password, tc.phase2, ca, cmp.Or(tc.domain, testServerName), frag)
			confPath := filepath.Join(dir, "eapol.conf")
			if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"-c", confPath, "-a", "127.0.0.1", "-p", fmt.Sprint(sh.port()), "-s", "testing123", "-t", "20"}
			if tc.ok {
				args = append(args, "-r", "2")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			text := string(out)
			results := sh.outcomes()
			if !tc.ok {
				if err == nil || !strings.Contains(text, "FAILURE") {
					t.Fatalf("eapol_test should fail: err %v\n%s", err, tail(text, 40))
				}
				if len(results) == 0 || results[len(results)-1].Outcome != Reject {
					t.Fatalf("server outcomes %v", results)
				}
				t.Logf("rejected: %s", results[len(results)-1].Reason)
				return
			}
			if err != nil || !strings.Contains(text, "SUCCESS") {
				t.Fatalf("eapol_test: %v\n%s", err, tail(text, 60))
			}
			m := mppeLine.FindStringSubmatch(text)
			if m == nil || m[1] != "3" || m[2] != "0" {
				t.Fatalf("MPPE keys line %q\n%s", m, tail(text, 60))
			}
			if len(results) != 3 {
				t.Fatalf("%d authentications, want 3", len(results))
			}
			for i, r := range results {
				if r.Outcome != Accept || r.Username != "alice" {
					t.Fatalf("auth %d: %v %q %q", i, r.Outcome, r.Username, r.Reason)
				}
			}
			// wpa_supplicant offers no session ticket (its ClientHello has
			// no SessionTicket extension) and crypto/tls keeps no session-ID
			// cache, so its re-authentications are full handshakes; the Go
			// peer proves resumption.
			t.Logf("re-authentications resumed: %v %v", results[1].Resumed, results[2].Resumed)
			for _, l := range strings.Split(text, "\n") {
				if mppeLine.MatchString(l) || l == "SUCCESS" {
					t.Log(l)
				}
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
