package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// Backups and exports hold personal data, and personal data that leaves
// the server goes encrypted. The commands that write it (backup, register
// export, register person, audit export) take --recipient and
// --recipients-file: the output is then encrypted with age
// (https://age-encryption.org) to those public keys, whose private halves
// are kept away from this server, so that a copy lost on the way or at
// rest off site gives nothing away. Files so written end in .age and stay
// 0600; `age -d -i KEY` opens them, and `keystage restore --identity`
// restores an encrypted backup.

// offsiteFlags are the --recipient and --recipients-file flags of a command
// that writes personal data.
type offsiteFlags struct {
	keys, files []string
}

func addOffsiteFlags(fs *flag.FlagSet) *offsiteFlags {
	o := &offsiteFlags{}
	fs.Func("recipient", "encrypt the output to this age public `key` (age1…, or an ssh-ed25519 or ssh-rsa public key line) for copying off the server; repeat for several",
		func(s string) error { o.keys = append(o.keys, s); return nil })
	fs.Func("recipients-file", "encrypt the output to every public key in this `file` (one a line, # for comments); repeatable",
		func(s string) error { o.files = append(o.files, s); return nil })
	return o
}

// recipients parses the keys given; none given: nil.
func (o *offsiteFlags) recipients() ([]age.Recipient, error) {
	var out []age.Recipient
	for _, k := range o.keys {
		r, err := parseRecipient(k)
		if err != nil {
			// Not the value itself: it may be a private key pasted by
			// mistake, and this message may be logged.
			return nil, usagef("--recipient: %v", err)
		}
		out = append(out, r)
	}
	for _, path := range o.files {
		rs, err := readRecipients(path)
		if err != nil {
			return nil, usagef("--recipients-file %s: %v", path, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// parseRecipient reads one public key: an age key, or an SSH public key
// line (its comment allowed).
func parseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1"):
		rs, err := age.ParseRecipients(strings.NewReader(s))
		if err != nil {
			return nil, errors.New("not a valid age public key (it starts age1 and is printed by age-keygen -y)")
		}
		return rs[0], nil
	case strings.HasPrefix(s, "ssh-"):
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("not an SSH public key age can use (ssh-ed25519 or ssh-rsa): %v", err)
		}
		return r, nil
	case strings.HasPrefix(s, "AGE-SECRET-KEY-") || strings.Contains(s, "PRIVATE KEY"):
		return nil, errors.New("this is a private key: give the public key (age-keygen -y KEYFILE prints it), and keep the private key off this server")
	}
	return nil, errors.New("not a public key: want an age key (age1…) or an ssh-ed25519 or ssh-rsa line")
}

// readRecipients reads a recipients file: one public key a line, blank
// lines and # comments skipped.
func readRecipients(path string) ([]age.Recipient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []age.Recipient
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRecipient(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no public key in it")
	}
	return out, nil
}

// sealedName is where an output encrypted to recipients goes: the name
// asked for, ending in .age.
func sealedName(path string) string {
	if strings.HasSuffix(path, ".age") {
		return path
	}
	return path + ".age"
}

// sealTo runs write on a writer that encrypts to recs into w.
func sealTo(w io.Writer, recs []age.Recipient, write func(io.Writer) error) error {
	aw, err := age.Encrypt(w, recs...)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if err := write(aw); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	return nil
}

// refuseBinaryTerminal refuses to write encrypted bytes to a terminal.
func refuseBinaryTerminal(w io.Writer) error {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return usagef("encrypted output is binary: give -o FILE, or send standard output to a file or a pipe")
	}
	return nil
}

// ageHeader starts every age file.
const ageHeader = "age-encryption.org/v1\n"

// isSealed tells whether the file at path is age-encrypted.
func isSealed(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(ageHeader))
	n, _ := io.ReadFull(f, head)
	return string(head[:n]) == ageHeader, nil
}

// readIdentities reads the private keys that open an encrypted file: an
// age identity file (as age-keygen writes it), or an SSH private key
// without a passphrase.
func readIdentities(path string) ([]age.Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		id, err := agessh.ParseIdentity(b)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("this SSH key has a passphrase: decrypt the file with `age -d -i KEY` first, then restore the result")
		}
		if err != nil {
			return nil, fmt.Errorf("not an SSH private key age can use: %v", err)
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not an age identity file (age-keygen writes one; it holds AGE-SECRET-KEY-1…): %v", err)
	}
	return ids, nil
}
