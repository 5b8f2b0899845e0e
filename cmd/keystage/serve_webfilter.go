package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/server"
	"keystage.dev/keystage/webfilter"
)

// buildWebFilter makes the web filter's forwarder and feed when the
// configuration names a receiver, the LDAP announcement or the feed (see
// server.WebFilter). It runs first, so that the RADIUS and LDAP builders
// find it in e.webfilter.
func buildWebFilter(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	e.webfilter = nil
	c := cfg.WebFilter
	if len(c.Receivers) == 0 && !c.LDAP.Announce && c.Feed.Listen == "" {
		return nil, nil
	}
	wc, err := cfg.webFilterSettings(d, e.logger())
	if err != nil {
		return nil, err
	}
	if np := e.netPolicies; np != nil {
		// What the access point was told: the approved mapping.
		wc.Forwarder.Announce.Policy = func(groups []string) (string, string) {
			p, _ := np.For(groups)
			return p.FilterID, p.Class
		}
	}
	f, fw, err := server.WebFilter(d, wc)
	if err != nil {
		return nil, err
	}
	e.webfilter = fw
	return f, nil
}

// webFilterSettings are the web filter's typed settings, from [webfilter]
// (and [ldap]'s lockout exemptions, never one person's address).
func (cfg *Config) webFilterSettings(d *directory.Directory, log *slog.Logger) (server.WebFilterConfig, error) {
	c := cfg.WebFilter
	wcfg := webfilter.Config{QueueDir: c.queueDir(cfg.DataDir), Log: log, Now: d.Now}
	for _, r := range c.Receivers {
		secret, err := r.secret()
		if err != nil {
			return server.WebFilterConfig{}, err
		}
		wcfg.Receivers = append(wcfg.Receivers, r.receiver(secret))
	}
	exclude, err := parsePrefixes(c.LDAP.ExcludeAddresses)
	if err != nil {
		return server.WebFilterConfig{}, fmt.Errorf("webfilter.ldap.exclude_addresses: %w", err)
	}
	// An address exempt from the LDAP lockout is an application server
	// binding for many people: never one person's address.
	if more, err := cfg.LDAP.lockoutExempt(); err == nil {
		exclude = append(exclude, more...)
	}
	policy := webFilterPolicy(cfg)
	wcfg.Announce = webfilter.Announce{Enabled: c.LDAP.Announce, Lifetime: c.LDAP.Lifetime.Duration, Exclude: exclude,
		ExcludeUsers: c.LDAP.ExcludeUsers, Policy: policy}
	wc := server.WebFilterConfig{Forwarder: wcfg, FeedListen: c.Feed.Listen, FeedTLSCert: c.Feed.TLSCert, FeedTLSKey: c.Feed.TLSKey}
	if c.Feed.Listen != "" {
		for _, t := range c.Feed.Tokens {
			h, err := webfilter.ParseTokenHash(t.SHA256)
			if err != nil {
				return server.WebFilterConfig{}, fmt.Errorf("webfilter.feed.token %s: %w", t.Name, err)
			}
			wc.FeedTokens = append(wc.FeedTokens, webfilter.Token{Name: t.Name, SHA256: h, History: t.History})
		}
	}
	return wc, nil
}

// webFilterPolicy gives the Filter-Id and Class of a person's groups as the
// RADIUS policy does, so that the filter hears what the access point was
// told.
func webFilterPolicy(cfg *Config) func(groups []string) (string, string) {
	ps := cfg.RADIUS.policies()
	return func(groups []string) (string, string) {
		p, _ := radius.PolicyFor(ps, groups)
		return p.FilterID, p.Class
	}
}

// cmdWebFilter: keystage webfilter token NAME.
func cmdWebFilter(e *env, args []string) error {
	if len(args) != 2 || args[0] != "token" {
		return usagef("want: webfilter token NAME (prints a new feed token for the filter NAME)")
	}
	name := args[1]
	b := make([]byte, 32)
	rand.Read(b)
	token := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	fmt.Fprintf(e.stdout, `# The token for %[1]s: give it to the filter (Authorization: Bearer TOKEN).
# It is shown once; Keystage keeps only its SHA-256.
%[2]s

# Add this to the configuration under [webfilter.feed], then restart keystage serve:
[[webfilter.feed.token]]
name = %[3]q
sha256 = "%[4]s"
history = false   # true: may also ask who had an address at a past time
`, name, token, name, hex.EncodeToString(sum[:]))
	return nil
}
