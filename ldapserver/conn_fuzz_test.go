package ldapserver_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/goleak"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// sendRaw writes data on a fresh connection, closes the writing half, and
// reads until the server closes: a server that hangs on junk fails here.
func sendRaw(t testing.TB, addr string, data []byte) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(data)
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	// A reset is a close too: the server that refuses a message closes
	// the connection with the rest of the input unread, and TCP then
	// resets it.
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("server did not close the connection after %d bytes of input: %v", len(data), err)
	}
}

func rawSeeds(t testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/*.ber")
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		for i := 1; i < len(b); i += len(b)/7 + 1 {
			out = append(out, b[:i])
			flipped := append([]byte(nil), b...)
			flipped[i] ^= 0xff
			out = append(out, flipped)
		}
	}
	return out
}

// FuzzConn feeds arbitrary bytes to a live connection handler. The server
// must close the connection (or answer and wait for EOF) and still serve
// a bind afterwards.
func FuzzConn(f *testing.F) {
	for _, s := range rawSeeds(f) {
		f.Add(s)
	}
	srv := ldaptest.Start(f, ldaptest.Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		sendRaw(t, srv.Addr, data)
	})
}

// TestMalformedInputLeavesNoGoroutine replays the seeds and their
// mutations, stops the server, and checks nothing is left running.
func TestMalformedInputLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("replay", func(t *testing.T) {
		srv := ldaptest.Start(t, ldaptest.Options{})
		for _, s := range rawSeeds(t) {
			sendRaw(t, srv.Addr, s)
		}
		// Still serving (anonymously: the mangled binds have locked
		// 127.0.0.1 out, as they should).
		res, err := dial(t, srv).Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("root DSE after malformed input: %v", err)
		}
	})
}
