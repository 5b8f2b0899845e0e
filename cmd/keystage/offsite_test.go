package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"keystage.dev/keystage/directory/sqlstore"
)

// recipientKeys makes an age identity and an SSH ed25519 key, and writes
// a recipients file holding both public keys (with a comment) and an age
// identity file and an SSH private key file.
type recipientKeys struct {
	age               *age.X25519Identity
	ssh               age.Identity
	recipientsFile    string
	ageIDFile, sshKey string
}

func newRecipientKeys(t *testing.T) recipientKeys {
	t.Helper()
	dir := t.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sshID, err := agessh.NewEd25519Identity(priv)
	if err != nil {
		t.Fatal(err)
	}
	k := recipientKeys{age: id, ssh: sshID,
		recipientsFile: filepath.Join(dir, "recipients.txt"),
		ageIDFile:      filepath.Join(dir, "backup-key.txt"),
		sshKey:         filepath.Join(dir, "id_ed25519")}
	recipients := "# the trust's backup key and the DPO's SSH key\n" + id.Recipient().String() + "\n\n" + string(ssh.MarshalAuthorizedKey(sshPub))
	if err := os.WriteFile(k.recipientsFile, []byte(recipients), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.ageIDFile, []byte("# created by the test\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.sshKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// openAge decrypts an age file with id, failing the test if it cannot.
func openAge(t *testing.T, b []byte, id age.Identity) []byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(b), id)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return plain
}

// sealedFile reads a file written encrypted and checks it is age, 0600,
// and holds nothing of the plain text.
func sealedFile(t *testing.T, path string, plain []byte) []byte {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no encrypted file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(ageHeader)) {
		t.Errorf("%s is not an age file: %q…", path, b[:min(len(b), 40)])
	}
	if len(plain) > 64 && bytes.Contains(b, plain[:64]) {
		t.Errorf("%s holds the plain text", path)
	}
	return b
}

// exportedAt is the one field of an export that differs between two runs.
var exportedAt = regexp.MustCompile(`"exported_at": *"[^"]*"`)

// The register, trail and subject-access exports, given recipients, are
// written encrypted to them as FILE.age (0600); each recipient's private
// key opens the file to the same bytes as the plain export.
func TestExportsEncryptToRecipients(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	keys := newRecipientKeys(t)
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	teacher, _ := demoNames(t.Context(), s)
	s.Close()
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string // before -o
		file string
	}{
		{"register", []string{"register", "export"}, "register.xlsx"},
		{"trail", []string{"audit", "export", "--since", "2000-01-01"}, "events.jsonl"},
		{"subject access", []string{"register", "person", teacher}, "person.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plainPath := filepath.Join(out, "plain-"+tc.file)
			args := append([]string{"--data", dir}, tc.args...)
			if code, _, errOut := keystage(t, "", append(args, "-o", plainPath)...); code != 0 {
				t.Fatalf("plain export: %s", errOut)
			}
			plain, err := os.ReadFile(plainPath)
			if err != nil {
				t.Fatal(err)
			}
			sealedPath := filepath.Join(out, tc.file)
			code, _, errOut := keystage(t, "", append(args, "-o", sealedPath, "--recipients-file", keys.recipientsFile)...)
			if code != 0 {
				t.Fatalf("encrypted export: %s", errOut)
			}
			if _, err := os.Stat(sealedPath); err == nil {
				t.Errorf("a plain %s was written beside the encrypted one", sealedPath)
			}
			if !strings.Contains(errOut, sealedPath+".age") {
				t.Errorf("the command does not name the file it wrote: %q", errOut)
			}
			b := sealedFile(t, sealedPath+".age", plain)
			plain = exportedAt.ReplaceAll(plain, nil)
			for name, id := range map[string]age.Identity{"age": keys.age, "ssh": keys.ssh} {
				if got := exportedAt.ReplaceAll(openAge(t, b, id), nil); !bytes.Equal(got, plain) {
					t.Errorf("decrypted with the %s key: %d bytes differ from the plain export's %d", name, len(got), len(plain))
				}
			}
			// To standard output (a pipe here), with one --recipient.
			code, stdout, errOut := keystage(t, "", append(args, "--recipient", keys.age.Recipient().String())...)
			if code != 0 {
				t.Fatalf("encrypted to standard output: %s", errOut)
			}
			if tc.name != "register" { // the xlsx register needs -o
				if got := exportedAt.ReplaceAll(openAge(t, []byte(stdout), keys.age), nil); !bytes.Equal(got, plain) {
					t.Errorf("standard output decrypted: %d bytes differ from the plain export's %d", len(got), len(plain))
				}
			}
		})
	}

	// A private key given as a recipient is refused before anything is
	// written, and says what to give instead.
	code, _, errOut := keystage(t, "", "--data", dir, "audit", "export", "-o", filepath.Join(out, "x.jsonl"), "--recipient", keys.age.String())
	if code == 0 || !strings.Contains(errOut, "private key") || strings.Contains(errOut, keys.age.String()) {
		t.Errorf("a private key as recipient: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(out, "x.jsonl.age")); err == nil {
		t.Error("a file was written despite the refusal")
	}
}

// keystage backup --recipient writes an encrypted backup (.age, 0600) that
// decrypts to a SQLite store; restore opens it with --identity (an age
// key or an SSH key), and refuses without it or with a key it was not
// made for.
func TestEncryptedBackupRestoresWithItsIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	keys := newRecipientKeys(t)
	out := filepath.Join(t.TempDir(), "backup.db")
	code, stdout, errOut := keystage(t, "", "--data", dir, "backup", "-o", out, "--recipients-file", keys.recipientsFile)
	if code != 0 || !strings.Contains(stdout, out+".age") {
		t.Fatalf("encrypted backup: %d %s %s", code, stdout, errOut)
	}
	b := sealedFile(t, out+".age", nil)
	if plain := openAge(t, b, keys.age); !bytes.HasPrefix(plain, []byte("SQLite format 3\x00")) {
		t.Errorf("the backup decrypts to %q…, not a SQLite database", plain[:min(len(plain), 16)])
	}
	if bytes.Contains(b, []byte("SQLite format 3")) {
		t.Error("the encrypted backup holds the plain database")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(leftovers) > 0 {
		t.Errorf("the plain copy was left behind: %v", leftovers)
	}

	// Change the store, so that a restore visibly brings the backup back.
	if code, _, errOut := keystage(t, "Harbour-Kestrel-47\n", "--data", dir, "account", "add", "--username", "ncomer", "--role", "staff",
		"--given", "Nia", "--family", "Comer", "--password-stdin"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "restore", out+".age"); code != 2 || !strings.Contains(errOut, "--identity") {
		t.Errorf("restore of an encrypted backup without --identity: %d %q", code, errOut)
	}
	other := newRecipientKeys(t)
	if code, _, errOut := keystage(t, "", "--data", dir, "restore", out+".age", "--identity", other.ageIDFile); code != 1 || !strings.Contains(errOut, "not encrypted to the key") {
		t.Errorf("restore with a key it was not made for: %d %q", code, errOut)
	}
	for _, id := range []string{keys.sshKey, keys.ageIDFile} {
		if code, stdout, errOut := keystage(t, "", "--data", dir, "restore", out+".age", "--identity", id); code != 0 {
			t.Fatalf("restore with %s: %d %s %s", filepath.Base(id), code, stdout, errOut)
		}
		if code, stdout, _ := keystage(t, "", "--data", dir, "account", "show", "ncomer"); code == 0 {
			t.Errorf("after restoring with %s the account made after the backup is still there:\n%s", filepath.Base(id), stdout)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".restore-*")); len(leftovers) > 0 {
		t.Errorf("the decrypted copy was left behind: %v", leftovers)
	}
}
