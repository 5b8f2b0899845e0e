// Command compare runs Keystage side by side with what schools run today,
// Debian's FreeRADIUS 3 and OpenLDAP slapd, on one machine: the same
// generated people in all three, the same load generator against each,
// interleaved (Keystage, the other, Keystage, the other …) for several
// rounds, and prints requests per second, p50 and p99 and the ratio
// Keystage/other for RADIUS PAP, MS-CHAPv2 and PEAP-MSCHAPv2, and LDAP
// uid searches and simple binds.
//
// It only listens on and sends to 127.0.0.1, on ports it picks, with
// configuration directories of its own under -dir (nothing under /etc is
// read or changed); every run is bounded in requests and time, and the
// servers it started are stopped when it ends. bench/compare/run.sh
// installs the Debian packages first.
//
//	go run ./bench/compare -dir /var/tmp/keystage-compare -people 200000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"keystage.dev/keystage/passwords"
)

// options are the command's flags.
type options struct {
	dir        string
	people     int
	cost       string
	slapdHash  string
	keyType    string
	tests      string
	rounds     int
	requests   int
	duration   time.Duration
	clients    int
	sample     int
	threads    int
	cpuProfile string
	keystage   string
	// perAddress is keystage's [ldap] max_searches_per_address; 0 leaves
	// its default (1).
	perAddress int
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "keystage-compare"), "working directory: stores, configurations, logs (set up once per -people, -cost, -slapd-hash, -key, then reused)")
	flag.IntVar(&o.people, "people", 10_000, "generated people (schoolgen.Large)")
	flag.StringVar(&o.cost, "cost", "default", "argon2id cost of the login password hash: default (Keystage's, 19 MiB, t=2) or low (64 KiB, t=1)")
	flag.StringVar(&o.slapdHash, "slapd-hash", "argon2", "how slapd stores the login password: argon2 (the same argon2id hash as Keystage) or ssha")
	flag.StringVar(&o.keyType, "key", "ecdsa", "EAP server key: ecdsa (P-256, the demo's and keystage cert radius's default) or rsa (2048)")
	flag.StringVar(&o.tests, "tests", "pap,mschapv2,peap,search,bind", "what to compare, in order")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each round runs Keystage then the other")
	flag.IntVar(&o.requests, "requests", 20_000, "each run stops after this many requests …")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "… or after this long")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients (UDP sockets or LDAP connections)")
	flag.IntVar(&o.sample, "sample", 1000, "spread requests over this many staff, across the whole store")
	flag.IntVar(&o.threads, "threads", 16, "worker threads of FreeRADIUS and slapd")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write keystage serve's CPU profile of the whole run to this file")
	flag.IntVar(&o.perAddress, "searches-per-address", 0, "keystage's [ldap] max_searches_per_address (0: its default, 1); every client here comes from 127.0.0.1, as from one busy application server")
	flag.StringVar(&o.keystage, "keystage", "", "keystage binary (default: built from this tree into -dir)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/compare:", err)
		os.Exit(1)
	}
}

// argon2Cost is the argon2id cost the login hashes are made with, and that
// keystage serve is configured with.
type argon2Cost = passwords.Argon2Params

func costOf(name string) (argon2Cost, error) {
	switch name {
	case "default":
		return passwords.DefaultArgon2Params(), nil
	case "low":
		p := passwords.DefaultArgon2Params()
		p.Memory, p.Iterations = 64, 1
		return p, nil
	}
	return argon2Cost{}, fmt.Errorf("-cost %q: use default or low", name)
}

// programs are what the harness runs besides keystage.
var programs = []string{"freeradius", "slapd", "slapadd"}

// checkPrograms says what to install when a program is missing.
func checkPrograms() error {
	var missing []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found: run bench/compare/run.sh (it installs Debian's freeradius and slapd), or apt-get install freeradius slapd", strings.Join(missing, ", "))
	}
	return nil
}

func run(ctx context.Context, o options) error {
	if err := checkPrograms(); err != nil {
		return err
	}
	cost, err := costOf(o.cost)
	if err != nil {
		return err
	}
	tests, err := parseTests(o.tests)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	env, err := prepare(ctx, o, cost)
	if err != nil {
		return err
	}
	fmt.Printf("people %d (staff sampled %d), login hash: Keystage argon2id m=%d KiB t=%d p=%d, slapd %s; EAP key %s\n",
		len(env.people), len(env.sample), cost.Memory, cost.Iterations, cost.Parallelism, o.slapdHash, o.keyType)
	sv, err := startServers(ctx, o, env, cost)
	if err != nil {
		return err
	}
	defer sv.stop()
	rows := compare(ctx, o, env, sv, tests)
	fmt.Printf("\nkeystage serve: RSS %d MiB after the runs; %s account reads went to the database while its view was behind\n",
		rssMiB(sv.keystage), metricValue(sv.pt.KSMetrics, "keystage_view_reads_behind_total"))
	fmt.Println()
	printTable(os.Stdout, o, env, rows)
	return ctx.Err()
}
