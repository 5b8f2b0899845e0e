package main

import (
	"crypto/ed25519"
	"errors"
	"filippo.io/age"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/private"
)

func cmdAudit(e *env, args []string) error {
	return dispatch(e, "audit", "audit verify | checkpoint | key | export | prune", args,
		sub{"verify", auditVerify},
		sub{"checkpoint", auditCheckpoint},
		sub{"key", auditKey},
		sub{"export", auditExport},
		sub{"prune", auditPrune})
}

// signer reads the checkpoint signing key. There is one per trust, the
// same file on every node, as the key file is. With a store, create makes
// the file when it is missing but only while the store holds no signed
// checkpoint, and the key is checked against the last checkpoint: a node
// signing with a key the others do not know would make audit verify cry
// tampering. Without a store (printing the public key) nothing is made or
// checked.
func (e *env) signer(st directory.Store, create bool) (*audit.Signer, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	path := cfg.SigningKeyFile()
	var last audit.Checkpoint
	signed := false
	if st != nil {
		switch c, err := st.LastCheckpoint(e.ctx); {
		case err == nil:
			last, signed = c, true
		case !errors.Is(err, directory.ErrNotFound):
			return nil, fmt.Errorf("audit signing key: reading the last checkpoint: %w", err)
		}
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create && st != nil && !signed:
		if data, err = audit.GenerateSigningKey(); err != nil {
			return nil, err
		}
		if err := private.Replace(path, data); err != nil {
			return nil, fmt.Errorf("audit signing key %s: %w", path, err)
		}
		e.logger().Info("created the audit signing key; copy it to every node, back it up apart from the database, "+
			"and keep a copy of its public key (keystage audit key) where the database's administrators cannot change it", "path", path)
	case errors.Is(err, fs.ErrNotExist) && signed:
		return nil, fmt.Errorf("audit signing key %s does not exist, and the audit trail is signed by key %s: "+
			"copy audit-signing.key from a node that serves (it is the same on every node), or restore it from its backup", path, last.KeyID)
	case err != nil:
		return nil, fmt.Errorf("audit signing key %s: %w (set audit.signing_key_file; keystage init or the first keystage serve creates it)", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		e.logger().Warn("audit signing key is readable by others: chmod 600 it", "path", path)
	}
	key, err := audit.ParseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	sg := audit.NewSigner(key)
	if signed {
		keys, err := e.configuredKeys(sg)
		if err != nil {
			return nil, err
		}
		if _, ok := keys[last.KeyID]; !ok {
			return nil, fmt.Errorf("audit signing key %s is key %s, but the last checkpoint of the audit trail (event %d) is signed by key %s, "+
				"which this node neither holds nor trusts: copy audit-signing.key from a node that serves (one key for every node), "+
				"or, after a rotation, add the old public key to audit.public_keys", path, audit.KeyID(sg.Public()), last.Seq, last.KeyID)
		}
	}
	return sg, nil
}

// Exit statuses of audit verify, beside 0 (intact, checkpoints checked)
// and 1 (tampered, or an error that stopped the check).
const exitUnchecked exitStatus = 3 // the chain is intact but no signed checkpoint could be checked

// configuredKeys are the public keys the configuration trusts: sg's (nil:
// none) and those in audit.public_keys.
func (e *env) configuredKeys(sg *audit.Signer) (audit.Keys, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	var pubs []ed25519.PublicKey
	if sg != nil {
		pubs = append(pubs, sg.Public())
	}
	for _, f := range cfg.Audit.PublicKeys {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("audit.public_keys: %w", err)
		}
		pub, err := audit.ParsePublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("audit.public_keys: %s: %w", f, err)
		}
		pubs = append(pubs, pub)
	}
	return audit.NewKeys(pubs...), nil
}

// trustedKeys are the public keys verify accepts: those named on the
// command line, else the configured set (the signing key's, when this
// machine holds it, and audit.public_keys), so that an auditor's machine
// with only the public keys verifies too. When none is named or configured
// and the signing key does not exist (a store that was never served), keys
// is empty and missing says where the key was looked for: the chain can
// still be verified, its checkpoints cannot.
func (e *env) trustedKeys(files []string) (keys audit.Keys, missing string, err error) {
	if len(files) == 0 {
		sg, serr := e.signer(nil, false)
		if serr != nil && !errors.Is(serr, fs.ErrNotExist) {
			return nil, "", serr // there, but unreadable or damaged: say so
		}
		if keys, err = e.configuredKeys(sg); err != nil {
			return nil, "", err
		}
		if len(keys) == 0 {
			cfg, err := e.config()
			if err != nil {
				return nil, "", err
			}
			missing = cfg.SigningKeyFile()
		}
		return keys, missing, nil
	}
	var pubs []ed25519.PublicKey
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, "", fmt.Errorf("public key: %w", err)
		}
		pub, err := audit.ParsePublicKey(data)
		if err != nil {
			return nil, "", fmt.Errorf("public key %s: %w", f, err)
		}
		pubs = append(pubs, pub)
	}
	return audit.NewKeys(pubs...), "", nil
}

func auditVerify(e *env, args []string) error {
	fs := e.newFlags("audit verify", "[--public-key FILE]… [--witness FILE]…")
	var keyFiles stringList
	fs.Var(&keyFiles, "public-key", "trust checkpoints signed by this public `key` file (repeatable; default: the configured signing key)")
	var witnessFiles stringList
	fs.Var(&witnessFiles, "witness", "check the trail against the checkpoints a witness kept: the `file` the collector of audit.witness stored (repeatable: rotated files)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	keys, missing, err := e.trustedKeys(keyFiles)
	if err != nil {
		return err
	}
	var witness []audit.Checkpoint
	if len(witnessFiles) > 0 {
		if missing != "" {
			return fmt.Errorf("--witness needs the public key that signed the checkpoints, and there is no signing key at %s: "+
				"give it with --public-key FILE (the output of keystage audit key, kept away from the database)", missing)
		}
		var readers []io.Reader
		for _, name := range witnessFiles {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("witness: %w", err)
			}
			defer f.Close()
			readers = append(readers, f, strings.NewReader("\n"))
		}
		witness, err = audit.ParseWitness(io.MultiReader(readers...))
		if err != nil {
			return fmt.Errorf("witness %s: %w: give the files exactly as the collector stored them", strings.Join(witnessFiles, ", "), err)
		}
		if len(witness) == 0 {
			return fmt.Errorf("witness %s holds no checkpoint of Keystage (no line with {\"keystage\":\"audit.checkpoint\"): "+
				"check that it is the file the collector of audit.witness writes, and that keystage serve sends to it (its log says so when it cannot)", strings.Join(witnessFiles, ", "))
		}
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	checkpoints := directory.Checkpoints(e.ctx, s)
	var unchecked int64
	if missing != "" {
		// No key to check them with: walk the chain alone, and count the
		// checkpoints that could not be checked.
		for _, err := range checkpoints {
			if err != nil {
				return err
			}
			unchecked++
		}
		checkpoints = func(func(audit.Checkpoint, error) bool) {}
	}
	rep, err := audit.VerifyWitnessed(keys, directory.Events(e.ctx, s, 0), checkpoints, witness)
	if err != nil {
		var ce *audit.ChainError
		switch {
		case errors.Is(err, audit.ErrPruneUnwitnessed):
			fmt.Fprintf(e.stdout, "NOT VOUCHED FOR: the trail starts at event %d, after the retention prune recorded at event %d, "+
				"but the witness holds no checkpoint at or after event %d, so it cannot tell that prune from a forgery that hides removed events. "+
				"Sign a checkpoint (keystage audit checkpoint sends it to the witness), then verify again with a fresh copy of the witness's file.\n",
				rep.FirstSeq, rep.PrunedBy, rep.PrunedBy)
			return errSilent
		case errors.Is(err, audit.ErrPruneUnrecorded):
			fmt.Fprintf(e.stdout, "TAMPERED: %v.\nThe trail starts at event %d, and no retention prune (audit.prune) records why. "+
				"Keep the database as it is for evidence and restore the trail from a backup from before the removal.\n", err, rep.FirstSeq)
			return errSilent
		case errors.As(err, &ce):
			fmt.Fprintf(e.stdout, "TAMPERED: %v.\n", err)
			if witness != nil && ce.Through > rep.CoveredSeq {
				fmt.Fprintf(e.stdout, "The witness holds a signed checkpoint of event %d that the trail in the database no longer matches%s.\n",
					ce.Through, map[bool]string{true: " (it ends before it)", false: ""}[errors.Is(err, audit.ErrTruncated)])
			}
			fmt.Fprintf(e.stdout, "%d events and %d checkpoints verified before it. Keep the database as it is for evidence, "+
				"export the trail (keystage audit export -o FILE) and compare it with a backup from before event %d.\n",
				rep.Events, rep.Checkpoints, ce.Seq)
			return errSilent
		case errors.Is(err, audit.ErrBadSignature) || errors.Is(err, audit.ErrUnknownKey):
			where := "the checkpoints themselves were changed"
			if witness != nil {
				where = "the checkpoints in the database or the witness's file were changed"
			}
			fmt.Fprintf(e.stdout, "TAMPERED: %v: %s, or signed by another key "+
				"(after a key rotation, add the old public key to audit.public_keys).\n", err, where)
			return errSilent
		}
		return err
	}
	if rep.Events == 0 {
		fmt.Fprintln(e.stdout, "the audit trail is empty: nothing to verify")
		return nil
	}
	pruned := func() {
		if rep.FirstSeq > 1 {
			fmt.Fprintf(e.stdout, "events 1 to %d were deleted by the retention prune recorded at event %d\n", rep.FirstSeq-1, rep.PrunedBy)
		}
	}
	if witness != nil {
		fmt.Fprintf(e.stdout, "audit trail intact and matches its witness: %d events, %d signed checkpoints in the database; head %d %s\n",
			rep.Events, rep.Checkpoints, rep.HeadSeq, rep.HeadHash)
		fmt.Fprintf(e.stdout, "witness: %d checkpoints match the trail, the last at event %d", rep.Witnessed, rep.WitnessedSeq)
		if rep.WitnessPruned > 0 {
			fmt.Fprintf(e.stdout, "; %d were of events lawfully pruned since", rep.WitnessPruned)
		}
		fmt.Fprintln(e.stdout)
		pruned()
		if rep.HeadSeq > rep.WitnessedSeq {
			fmt.Fprintf(e.stdout, "events %d to %d are not yet under a witnessed checkpoint: the witness vouches for them once keystage serve sends it the next checkpoint\n",
				rep.WitnessedSeq+1, rep.HeadSeq)
		}
		return nil
	}
	if rep.Checkpoints == 0 {
		fmt.Fprintf(e.stdout, "audit chain intact: %d events; head %d %s\n", rep.Events, rep.HeadSeq, rep.HeadHash)
		pruned()
		fmt.Fprintf(e.stdout, "NO CHECKPOINT CHECKED: ")
		switch {
		case missing != "" && unchecked > 0:
			fmt.Fprintf(e.stdout, "there is no signing key at %s, so the %d signed checkpoints in the database could not be checked. "+
				"Give the public key kept away from the database: keystage audit verify --public-key FILE\n", missing, unchecked)
		case missing != "":
			fmt.Fprintf(e.stdout, "there is no signing key at %s and no checkpoint was ever signed (keystage serve was never run on this store). "+
				"The chain alone cannot show a rewrite by someone with the database: create the key and sign the head with "+
				"keystage audit checkpoint --create-key, and keep keystage audit key's output away from the database\n", missing)
		default:
			fmt.Fprintf(e.stdout, "no checkpoint has been signed yet: keystage serve signs one within audit.checkpoint_interval, or run keystage audit checkpoint\n")
		}
		return exitUnchecked
	}
	fmt.Fprintf(e.stdout, "audit trail intact: %d events, %d signed checkpoints; head %d %s\n", rep.Events, rep.Checkpoints, rep.HeadSeq, rep.HeadHash)
	pruned()
	if rep.HeadSeq > rep.CoveredSeq {
		fmt.Fprintf(e.stdout, "events %d to %d are chained but not yet under a signed checkpoint: keystage serve signs them within audit.checkpoint_interval, or run keystage audit checkpoint\n",
			rep.CoveredSeq+1, rep.HeadSeq)
	}
	return nil
}

func auditCheckpoint(e *env, args []string) error {
	flags := e.newFlags("audit checkpoint", "[--create-key]")
	create := flags.Bool("create-key", false, "create the signing key when there is none (a store that keystage serve has never run on)")
	if _, err := parse(flags, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	_, statErr := os.Stat(cfg.SigningKeyFile())
	if errors.Is(statErr, fs.ErrNotExist) && !*create {
		return fmt.Errorf("there is no audit signing key at %s: keystage init or the first keystage serve creates it; "+
			"to create it now, run keystage audit checkpoint --create-key (or set audit.signing_key_file to the key you have)", cfg.SigningKeyFile())
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	signer, err := e.signer(s, *create)
	if err != nil {
		return err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		fmt.Fprintf(e.stdout, "created the audit signing key %s (mode 600): copy it to every node, back it up apart from the database, "+
			"and keep the output of keystage audit key where the database's administrators cannot change it\n", cfg.SigningKeyFile())
	}
	c, made, err := directory.Checkpoint(e.ctx, s, signer, time.Now())
	switch {
	case err != nil:
		return err
	case c.Seq == 0:
		fmt.Fprintln(e.stdout, "the audit trail is empty: nothing to checkpoint")
	case made:
		fmt.Fprintf(e.stdout, "checkpoint signed at event %d (%s) by key %s\n", c.Seq, c.Hash, c.KeyID)
		e.witnessCheckpoint(c)
	default:
		fmt.Fprintf(e.stdout, "event %d is checkpointed already\n", c.Seq)
	}
	return nil
}

// witnessCheckpoint sends a checkpoint a command signed to the witness
// and the SIEM at once, and says where it went; keystage serve sends it
// too, so a destination that cannot be reached now gets it from there.
func (e *env) witnessCheckpoint(c audit.Checkpoint) {
	f, err := e.siemFeed()
	if err != nil {
		fmt.Fprintf(e.stderr, "the checkpoint was not sent to the witness: %v; keystage serve sends it once the configuration is fixed\n", err)
		return
	}
	if f == nil {
		return
	}
	sent, failed := f.SendCheckpoint(e.ctx, c)
	for _, n := range sent {
		fmt.Fprintf(e.stdout, "sent to %s\n", n)
	}
	for _, n := range failed {
		fmt.Fprintf(e.stderr, "could not reach %s: keystage serve sends it the checkpoint when it can\n", n)
	}
}

func auditKey(e *env, args []string) error {
	fs := e.newFlags("audit key", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	s, err := e.signer(nil, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "# audit checkpoint key %s: keep this where the database's administrators cannot change it,\n"+
		"# and verify with: keystage audit verify --public-key FILE\n", audit.KeyID(s.Public()))
	_, err = e.stdout.Write(audit.PublicKeyPEM(s.Public()))
	return err
}

func auditExport(e *env, args []string) error {
	fs := e.newFlags("audit export", "[--since DATE] [--until DATE] [--format jsonl|csv] [-o FILE] [--recipient KEY]...")
	since := fs.String("since", "", "first `date` (YYYY-MM-DD, the school's time zone) of events to write")
	until := fs.String("until", "", "last `date` of events to write (inclusive)")
	out := fs.String("o", "", "write to `file` instead of standard output")
	format := fs.String("format", "", "jsonl (to verify the chain from) or csv (for a spreadsheet); default: from the -o file's extension, else jsonl")
	offsite := addOffsiteFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *format == "" {
		*format = audit.FormatJSONL
		if strings.EqualFold(filepath.Ext(*out), ".csv") {
			*format = audit.FormatCSV
		}
	}
	if !oneOf(*format, audit.FormatJSONL, audit.FormatCSV) {
		return usagef("--format %q: use jsonl or csv", *format)
	}
	recs, err := offsite.recipients()
	if err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	from, err := dayStart(*since, cfg.Location())
	if err != nil {
		return usagef("--since: %v", err)
	}
	to, err := dayStart(*until, cfg.Location())
	if err != nil {
		return usagef("--until: %v", err)
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return usagef("--until is before --since")
	}
	s, err := e.openStore(true)
	if err != nil {
		return err
	}
	defer s.Close()
	var n int64
	written, err := e.writeOutput(*out, recs, func(w io.Writer) error {
		var err error
		n, err = directory.ExportEventsAs(e.ctx, s, w, *format, from, to)
		return err
	})
	if err == nil && written != "" {
		fmt.Fprintf(e.stderr, "%d events written to %s\n", n, written)
	}
	return err
}

// dayStart reads a YYYY-MM-DD date as its midnight in loc; "" is zero.
func dayStart(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(directory.DateLayout, strings.TrimSpace(s), loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date: write it as YYYY-MM-DD", s)
	}
	return t, nil
}

// writeOutput runs write on standard output, or on a file (0600) that
// appears under its name only once it is complete. With recipients the
// output is encrypted to them, and a file's name ends in .age. It returns
// the name written ("" for standard output).
func (e *env) writeOutput(path string, recs []age.Recipient, write func(io.Writer) error) (string, error) {
	if len(recs) > 0 {
		plain := write
		write = func(w io.Writer) error { return sealTo(w, recs, plain) }
	}
	if path == "" || path == "-" {
		if len(recs) > 0 {
			if err := refuseBinaryTerminal(e.stdout); err != nil {
				return "", err
			}
		}
		return "", write(e.stdout)
	}
	if len(recs) > 0 {
		path = sealedName(path)
	}
	return path, private.ReplaceFunc(path, write)
}

func auditPrune(e *env, args []string) error {
	fs := e.newFlags("audit prune", "--before DATE [--apply]")
	before := fs.String("before", "", "delete the events recorded before this `date` (YYYY-MM-DD, the school's time zone)")
	apply := fs.Bool("apply", false, "delete them; without it, say what would go")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *before == "" {
		return usagef("--before is required: the date before which events are to be deleted")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	at, err := dayStart(*before, cfg.Location())
	if err != nil {
		return usagef("--before: %v", err)
	}
	if !at.Before(time.Now()) {
		return usagef("--before %s is not in the past", *before)
	}
	s, err := e.openStore(!*apply)
	if err != nil {
		return err
	}
	defer s.Close()
	// A trail that does not verify is evidence: it is not pruned.
	keys, _, err := e.trustedKeys(nil)
	if err != nil {
		return err
	}
	if _, err := directory.VerifyTrail(e.ctx, s, keys); err != nil {
		return fmt.Errorf("the audit trail does not verify (%v): it is kept whole as evidence; run keystage audit verify, and prune only once that is resolved", err)
	}
	plan, err := directory.PlanPrune(e.ctx, s, at)
	if err != nil {
		return err
	}
	if plan.Removed == 0 {
		fmt.Fprintf(e.stdout, "no event recorded before %s is left at the start of the trail: nothing to prune\n", *before)
		return nil
	}
	verb := "would delete"
	if *apply {
		verb = "deleting"
	}
	fmt.Fprintf(e.stdout, "%s events %d to %d (%d events, the last recorded %s); the trail will start at event %d\n",
		verb, plan.FirstSeq, plan.KeepFrom-1, plan.Removed, plan.LastGone.In(cfg.Location()).Format(time.DateTime), plan.KeepFrom)
	if !*apply {
		fmt.Fprintln(e.stdout, "nothing deleted: run again with --apply. The prune is itself recorded (audit.prune) and signed into a checkpoint sent to the witness, "+
			"so that audit verify tells it from tampering; export the events first (keystage audit export --until DATE) if they must be kept elsewhere")
		return nil
	}
	signer, err := e.signer(s, false)
	if err != nil {
		return fmt.Errorf("a prune is signed into a checkpoint at once, and %w", err)
	}
	ev, err := directory.PruneTrail(e.ctx, s, signer, plan, e.actor(), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %d events; the prune is recorded at event %d\n", plan.Removed, ev.Seq)
	c, made, err := directory.Checkpoint(e.ctx, s, signer, time.Now())
	if err != nil {
		return fmt.Errorf("the prune is done, but signing its checkpoint failed (keystage serve signs it within audit.checkpoint_interval): %w", err)
	}
	if made {
		fmt.Fprintf(e.stdout, "checkpoint signed at event %d (%s) by key %s\n", c.Seq, c.Hash, c.KeyID)
		e.witnessCheckpoint(c)
	}
	return nil
}
