package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"keystage.dev/keystage/branding"
	"keystage.dev/keystage/directory"
)

// Config is the whole configuration file. Each frontend's section has its
// own type in a file of its own (config_ldap.go, …); the packages below cmd
// get typed values built from it, never the file or the environment.
type Config struct {
	// DataDir holds the SQLite store, the key file and generated
	// certificates. --data overrides it.
	DataDir string `toml:"data_dir"`
	// School is the name people see.
	School string `toml:"school"`
	// BrandingSettings are the logo and accent colour (config_branding.go).
	BrandingSettings
	// Timezone is the school's: dates start and end at its midnight.
	Timezone string `toml:"timezone"`

	Database  DatabaseSection  `toml:"database"`
	Secrets   SecretsSection   `toml:"secrets"`
	Log       LogSection       `toml:"log"`
	Lockout   LockoutSection   `toml:"lockout"`
	Passwords PasswordsSection `toml:"passwords"`
	LDAP      LDAPSection      `toml:"ldap"`
	RADIUS    RADIUSSection    `toml:"radius"`
	Portal    PortalSection    `toml:"portal"`
	Metrics   MetricsSection   `toml:"metrics"`
	Sync      SyncSection      `toml:"sync"`
	AUP       AUPSection       `toml:"aup"`
	Audit     AuditSection     `toml:"audit"`
	WebFilter WebFilterSection `toml:"webfilter"`
	SIEM      SIEMSection      `toml:"siem"`
	Review    ReviewSection    `toml:"review"`
	// Schools are a trust's schools; none for a single school.
	Schools []SchoolSection `toml:"schools"`

	Approvals ApprovalsSection `toml:"approvals"`
	Devices   DevicesSection   `toml:"devices"`
	Retention RetentionSection `toml:"retention"`

	ActiveDirectory ADSection `toml:"active_directory"`

	loc    *time.Location
	brands *branding.Set // checked by validateBranding; nil: none
}

// DatabaseSection says where the directory is kept.
type DatabaseSection struct {
	// URL: empty for SQLite in the data directory, or postgres://….
	// KEYSTAGE_DATABASE_URL overrides it.
	URL string `toml:"url"`
}

// SecretsSection says where the sealing keys are.
type SecretsSection struct {
	// KeyFile holds the AES-256 keys that seal Wi-Fi credentials and NAS
	// secrets. KEYSTAGE_KEY_FILE overrides it. Default: DATA/keystage.keys.
	KeyFile string `toml:"key_file"`
}

// LogSection sets up the structured log.
type LogSection struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// LockoutSection is the failed-sign-in lockout shared by every frontend
// (directory.Lockout says how it works).
type LockoutSection struct {
	Threshold           int      `toml:"threshold"`            // familiar sources, before the account locks
	UnfamiliarThreshold int      `toml:"unfamiliar_threshold"` // unfamiliar sources together, before they are refused
	SourceThreshold     int      `toml:"source_threshold"`     // one source, before it is blocked
	Window              duration `toml:"window"`
	Base                duration `toml:"base"`
	Max                 duration `toml:"max"`
	FamiliarFor         duration `toml:"familiar_for"`
	FamiliarKeep        int      `toml:"familiar_keep"`
	AuditEvery          duration `toml:"audit_every"`
	MemoryLimit         int      `toml:"memory_limit"`
}

func defaultLockout() LockoutSection {
	return LockoutSection{Threshold: 5, UnfamiliarThreshold: 5, SourceThreshold: 10, Window: duration{15 * time.Minute},
		Base: duration{time.Minute}, Max: duration{30 * time.Minute}, FamiliarFor: duration{90 * 24 * time.Hour}, FamiliarKeep: 20,
		AuditEvery: duration{5 * time.Minute}, MemoryLimit: 10000}
}

func (s *LockoutSection) validate(p *problems) {
	for _, v := range []struct {
		name string
		n    int
	}{{"threshold", s.Threshold}, {"unfamiliar_threshold", s.UnfamiliarThreshold}, {"source_threshold", s.SourceThreshold}, {"familiar_keep", s.FamiliarKeep}} {
		if v.n < 1 {
			p.add("lockout.%s %d: must be at least 1", v.name, v.n)
		}
	}
	if s.MemoryLimit < 100 {
		p.add("lockout.memory_limit %d: at least 100 (the counters kept in memory while the database cannot be written)", s.MemoryLimit)
	}
	if s.Window.Duration < time.Minute {
		p.add("lockout.window %s: at least 1m", s.Window.Duration)
	}
	if s.Base.Duration < time.Second {
		p.add("lockout.base %s: at least 1s", s.Base.Duration)
	}
	if s.Max.Duration < s.Base.Duration || s.Max.Duration > 24*time.Hour {
		p.add("lockout.max %s: between base (%s) and 24h", s.Max.Duration, s.Base.Duration)
	}
	if s.FamiliarFor.Duration < 24*time.Hour {
		p.add("lockout.familiar_for %s: at least 24h", s.FamiliarFor.Duration)
	}
	if s.AuditEvery.Duration < 10*time.Second || s.AuditEvery.Duration > 24*time.Hour {
		p.add("lockout.audit_every %s: between 10s and 24h", s.AuditEvery.Duration)
	}
}

// prefixes parses addresses (one host each) and CIDR prefixes.
func prefixes(vs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vs {
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("%q: want an address or a CIDR such as 10.0.0.5/32", v)
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

func (s *LockoutSection) lockout() directory.Lockout {
	return directory.Lockout{Threshold: s.Threshold, UnfamiliarThreshold: s.UnfamiliarThreshold, SourceThreshold: s.SourceThreshold,
		Window: s.Window.Duration, Base: s.Base.Duration, Max: s.Max.Duration, FamiliarFor: s.FamiliarFor.Duration,
		FamiliarKeep: s.FamiliarKeep, AuditEvery: s.AuditEvery.Duration, MemoryLimit: s.MemoryLimit}
}

// duration reads "15m", "1h30m" in TOML.
type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: write it like 90s, 15m or 2h", b)
	}
	d.Duration = v
	return nil
}

func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// defaults is the configuration with nothing set.
func defaults() Config {
	return Config{
		DataDir:   "/var/lib/keystage",
		School:    "Keystage",
		Timezone:  "Europe/London",
		Log:       LogSection{Level: "info", Format: "text"},
		Lockout:   defaultLockout(),
		Passwords: defaultPasswords(),
		LDAP:      defaultLDAP(),
		RADIUS:    defaultRADIUS(),
		Portal:    defaultPortal(),
		Sync:      defaultSync(),
		AUP:       defaultAUP(),
		Audit:     defaultAudit(),
		WebFilter: defaultWebFilter(),
		SIEM:      defaultSIEM(),
		Review:    defaultReview(),

		ActiveDirectory: defaultAD(),
		Approvals:       defaultApprovals(),
		Devices:         defaultDevices(),
		Retention:       defaultRetention(),
	}
}

// problems gathers every fault in a configuration so that all are reported
// at once.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err(path string) error {
	if len(p) == 0 {
		return nil
	}
	where := "configuration"
	if path != "" {
		where = path
	}
	return fmt.Errorf("%s has %d problem(s):\n  - %s", where, len(p), strings.Join(p, "\n  - "))
}

// loadConfig reads the file (if any), applies the environment and the
// global flags, and validates the result.
func loadConfig(path, dataFlag string) (*Config, error) {
	cfg := defaults()
	if path != "" {
		md, err := toml.DecodeFile(path, &cfg)
		if err != nil {
			return nil, fmt.Errorf("configuration %s: %w", path, err)
		}
		if undec := md.Undecoded(); len(undec) > 0 {
			keys := make([]string, len(undec))
			for i, k := range undec {
				keys[i] = k.String()
			}
			return nil, fmt.Errorf("configuration %s: unknown setting(s): %s", path, strings.Join(keys, ", "))
		}
	}
	if v := os.Getenv("KEYSTAGE_DATABASE_URL"); v != "" {
		cfg.Database.URL = v
	}
	if v := os.Getenv("KEYSTAGE_KEY_FILE"); v != "" {
		cfg.Secrets.KeyFile = v
	}
	if dataFlag != "" {
		cfg.DataDir = dataFlag
	}
	if err := cfg.validate().err(path); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() problems {
	var p problems
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		p.add("timezone %q: not a known time zone (e.g. Europe/London)", c.Timezone)
	}
	c.loc = loc
	if c.DataDir == "" {
		p.add("data_dir: empty")
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		p.add("log.level %q: use debug, info, warn or error", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		p.add("log.format %q: use text or json", c.Log.Format)
	}
	c.Lockout.validate(&p)
	u := c.Database.URL
	if u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") && !strings.HasPrefix(u, "sqlite:") {
		p.add("database.url: want postgres://… or sqlite:PATH (or empty for SQLite in the data directory)")
	}
	c.Passwords.validate(&p)
	c.LDAP.validate(&p)
	c.RADIUS.validate(&p)
	c.Portal.validate(&p)
	c.Metrics.validate(&p)
	c.Sync.validate(&p)
	c.AUP.validate(&p)
	c.Audit.validate(&p)
	c.WebFilter.validate(&p)
	c.SIEM.validate(&p)
	c.Review.validate(&p)
	c.ActiveDirectory.validate(&p)
	c.Approvals.validate(&p)
	c.Devices.validate(&p)
	c.Retention.validate(&p)
	validateSchools(c.Schools, c.Passwords.policies(), &p)
	c.validateBranding(&p)
	return p
}

// Location is the school's time zone.
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// DatabaseURL is where the store is.
func (c *Config) DatabaseURL() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "keystage.db")
}

// KeyFile is where the sealing keys are.
func (c *Config) KeyFile() string {
	if c.Secrets.KeyFile != "" {
		return c.Secrets.KeyFile
	}
	return filepath.Join(c.DataDir, "keystage.keys")
}

// exampleConfig is printed by `keystage config example`. Each section's
// text lives beside its type.
func exampleConfig() string {
	return `# Keystage configuration (TOML). Every setting is shown with its default.
# Environment overrides: KEYSTAGE_DATABASE_URL, KEYSTAGE_KEY_FILE; --data DIR
# overrides data_dir.

# Where the SQLite store, the key file and generated certificates live.
data_dir = "/var/lib/keystage"
# The name people see in the portal and in messages.
school = "Keystage"
` + exampleBranding + `# The school's time zone: start and leave dates begin and end at its midnight.
timezone = "Europe/London"

[database]
# Empty: SQLite in data_dir (one school, one node). For a trust or council with
# several nodes: "postgres://keystage@db.example/keystage?sslmode=verify-full".
url = ""

[secrets]
# AES-256 keys that seal Wi-Fi credentials and NAS secrets at rest. Made by
# keystage init (or the first start) only while the database holds no sealed
# secret. The same file on every node; back it up apart from the database.
key_file = ""   # default: DATA/keystage.keys

[log]
level = "info"   # debug, info, warn, error
format = "text"  # text or json

[lockout]
# Failed sign-ins (LDAP, RADIUS, portal), counted apart for the sources an
# account knows (it has signed in from them) and for those it does not, so
# that guessing from a pupil's phone never locks the owner's own devices
# out (docs/security.md). A counter that reaches its threshold within
# window locks for base, doubling with each further failure up to max.
threshold = 5              # from the account's familiar sources: locks the account
unfamiliar_threshold = 5   # from all unfamiliar sources together: refuses new devices for the account
source_threshold = 10      # from one source, on accounts new to it: blocks that source
window = "15m"
base = "1m"
max = "30m"
familiar_for = "2160h"     # a source stays familiar this long after the last sign-in from it
familiar_keep = 20         # familiar sources kept per account (phones randomise their MAC address)
audit_every = "5m"         # failed sign-ins are summed up in the audit trail this often
memory_limit = 10000       # counters kept in memory while the database cannot be written
` + examplePasswords + exampleLDAP + exampleRADIUS + examplePortal + exampleMetrics + exampleSync + exampleAUP + exampleAudit + exampleWebFilter + exampleSIEM + exampleReview + exampleSchools + exampleControls + exampleRetention + exampleAD
}
