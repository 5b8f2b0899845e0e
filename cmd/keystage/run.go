package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/server"
	"keystage.dev/keystage/webfilter"
)

// env is what every command gets: the global flags, the streams and a
// context that ends on SIGINT or SIGTERM.
type env struct {
	ctx        context.Context
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	configPath string
	dataDir    string
	cfg        *Config
	log        *slog.Logger
	demoDir    string // set by keystage demo: where its generated files go
	// webfilter is set while serving when [webfilter] names anything, for
	// the RADIUS and LDAP frontends to hand their events to.
	webfilter *webfilter.Forwarder
	siem      *server.SIEMFeed // [siem] and [audit.witness] destinations, made once (see serve_siem.go)
	// netPolicies are the network policies in force while serving, shared
	// by RADIUS and the web filter (see serve_netpolicy.go).
	netPolicies *radius.NetworkPolicies
	// as is the person a command acts as (--as, KEYSTAGE_AS): their school
	// bounds what it may touch; empty: the operator, trust-wide.
	as     string
	acting actingAs
}

// command is one subcommand: a file of its own holds each.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

func commands() []command {
	return []command{
		{"version", "print the version", cmdVersion},
		{"config", "config example | check: print a commented example configuration, or check one", cmdConfig},
		{"init", "init [--technician NAME …]: the first step: schema, key file, audit signing key, the portal's role groups, the first technician", cmdInit},
		{"migrate", "migrate up | status: apply or list database migrations", cmdMigrate},
		{"account", "account list | show NAME | add | disable NAME | enable NAME | unlock NAME | legal-name NAME: the accounts in the directory", cmdAccount},
		{"group", "group add | list | show | remove NAME | members add|remove NAME USER…: groups kept by hand", cmdGroup},
		{"password", "password check --user NAME | issue (--user NAME | --reg R | --year Y | --group G | --starters) | reset NAME: check a password against the rules; give first passwords and print their slips", cmdPassword},
		{"keys", "keys rotate: add a new sealing key and re-seal every secret under it", cmdKeys},
		{"backup", "backup -o FILE: a consistent copy of the SQLite store, while it runs", cmdBackup},
		{"restore", "restore FILE: put a backup back (keystage must be stopped)", cmdRestore},
		{"wifi", "wifi issue | show | revoke NAME: a person's own Wi-Fi credential", cmdWiFi},
		{"passkey", "passkey enrol NAME: a one-time code for the first passkey of staff whose role needs one", cmdPasskey},
		{"cert", "cert radius --name DOMAIN [--key ecdsa|rsa]: the Wi-Fi's own CA and the RADIUS server certificate devices check (ECDSA P-256 unless --key rsa)", cmdCert},
		{"nas", "nas add | list | remove: the RADIUS clients (access points, controllers)", cmdNAS},
		{"sync", "sync --from oneroster:PATH|csv:PATH [--apply]: plan (and apply) the starters, movers and leavers from the MIS", cmdSync},
		{"leavers", "leavers [--as-of DATE] [--apply]: plan (and apply) disabling past leavers and purging after retention", cmdLeavers},
		{"aup", "aup publish | list | record NAME | status | import FILE.csv: acceptable use policies and their signatures", cmdAUP},
		{"consent", "consent record | refuse | withdraw NAME: a parent's, carer's or local authority's decision on permission for a pupil", cmdConsent},
		{"suspend", "suspend NAME --until DATE|--for 3d|--lifted-by ROLE [--scope S] --reason TEXT: take network access (or part of it) away", cmdSuspend},
		{"unsuspend", "unsuspend NAME [--with WHO --note TEXT]: lift a person's suspensions", cmdUnsuspend},
		{"hold", "hold set | lift | show NAME | list: legal holds, which stop any purge of a person's records", cmdHold},
		{"audit", "audit verify [--witness FILE] | checkpoint | key | export | prune: the tamper-evident audit trail", cmdAudit},
		{"review", "review [-o FILE.csv|.xlsx] | --record FILE.csv: the access review of dormant, privileged and guest accounts", cmdReview},
		{"register", "register export | person NAME: the access register, and all held about one person", cmdRegister},
		{"ad", "ad plan | apply | adopt [--apply] | push: make Active Directory follow Keystage (people, groups, passwords, the gate)", cmdAD},
		{"retention", "retention [--apply]: the retention schedule: forget old device records, prune old audit events by a signed prune", cmdRetention},
		{"webfilter", "webfilter token NAME: a new token for the web filter's feed", cmdWebFilter},
		{"filter", "filter list | propose | approve ID | reject ID: the mapping of groups to VLANs and filters, changed only once a senior role approves", cmdFilter},
		{"device", "device register MAC | unregister MAC | list [NAME] | approve NAME | revoke NAME ID | forget NAME MAC: school devices and personal devices on the Wi-Fi", cmdDevice},
		{"exception", "exception add NAME | list [NAME] | revoke NAME ID: per-person exceptions to the network and the password policy, approved with an end date", cmdException},
		{"serve", "run the frontends configured (LDAP, RADIUS, portal)", cmdServe},
		{"demo", "run Keystage on a demo school in ./keystage-demo (SQLite)", cmdDemo},
	}
}

// sub is one subcommand of a command with several (account list, …).
type sub struct {
	name string
	run  func(e *env, args []string) error
}

// dispatch runs the subcommand of cmd that args names; want is the usage
// line shown when none or an unknown one is named.
func dispatch(e *env, cmd, want string, args []string, subs ...sub) error {
	if len(args) == 0 {
		return usagef("want: %s", want)
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		if s.name == args[0] {
			return s.run(e, args[1:])
		}
		names[i] = s.name
	}
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	return usagef("unknown %s subcommand %q: want %s", cmd, args[0], list)
}

// usageError is a mistake in the command line: usage is printed, exit 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("keystage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&e.configPath, "config", os.Getenv("KEYSTAGE_CONFIG"), "configuration `file` (env KEYSTAGE_CONFIG)")
	fs.StringVar(&e.dataDir, "data", "", "data `directory` for the SQLite default (overrides the configuration)")
	fs.StringVar(&e.as, "as", os.Getenv("KEYSTAGE_AS"), "act as this staff `account`: only on their school's people (env KEYSTAGE_AS; docs/trusts.md)")
	fs.Usage = func() { printUsage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		printUsage(stderr, fs)
		return 2
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	// The global flags may come after the command too ("keystage sync
	// --data DIR"): a technician types them where they think of them.
	rest, err := globalFlags(fs, rest)
	if err != nil {
		fmt.Fprintf(stderr, "keystage %s: %v\n", name, err)
		return 2
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := e.checkActing(c.name, rest)
		if err == nil {
			err = c.run(e, rest)
		}
		e.recordRefusals()
		var ue usageError
		var st exitStatus
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "keystage %s: %s\n", name, ue.msg)
			return 2
		case errors.Is(err, errSilent):
			return 1
		case errors.As(err, &st):
			return int(st)
		}
		fmt.Fprintf(stderr, "keystage %s: %s\n", name, err)
		return 1
	}
	fmt.Fprintf(stderr, "keystage: unknown command %q\n", name)
	printUsage(stderr, fs)
	return 2
}

// globalFlags takes the global flags (--config, --data) out of a
// command's arguments, wherever they stand before a "--", and sets them on
// fs; the rest are the command's own.
func globalFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(rest, args[i:]...), nil
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "config" && name != "data" && name != "as") || strings.HasPrefix(a, "---") {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return nil, usagef("flag needs an argument: -%s", name)
			}
			i++
			value = args[i]
		}
		if err := fs.Set(name, value); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// errSilent is returned by a command that has already said why it failed.
var errSilent = errors.New("failed")

// exitStatus is returned by a command that has already said what it found
// and exits with a status of its own (audit verify's 3: the chain is
// intact but no signed checkpoint could be checked).
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: keystage [--config FILE] [--data DIR] COMMAND [ARGS]")
	fmt.Fprintln(w, "  (the global flags may also follow the command: keystage sync --data DIR)")
	fmt.Fprintln(w, "\ncommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags:")
	fs.PrintDefaults()
}

// newFlags makes the flag set of a subcommand.
func (e *env) newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("keystage "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: keystage %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a subcommand's flags, allowing them after positional
// arguments too ("account show jsmith --json").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}
