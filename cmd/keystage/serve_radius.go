package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/server"
)

// buildRADIUS makes the RADIUS frontend when the configuration enables it
// (see server.RADIUS), with the demo's hints.
func buildRADIUS(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	rc := cfg.RADIUS
	if !rc.Enabled {
		return nil, nil
	}
	sc, err := cfg.radiusSettings(e.logger())
	if err != nil {
		return nil, err
	}
	sc.Server.NetworkPolicies = e.netPolicies
	if e.webfilter != nil {
		sc.Server.Accounting = server.WebFilterSink{Forwarder: e.webfilter}
	}
	f, err := server.RADIUS(e.ctx, d, sc)
	if err != nil {
		return nil, err
	}
	f.Hints = radiusHints(e.ctx, d, rc.AuthAddress, rc.AcctAddress)
	if sc.EAP != nil && rc.EAP.CertFile != "" && e.demoDir != "" {
		more, err := demoEAPHints(e, d, rc)
		if err != nil {
			return nil, err
		}
		f.Hints = append(f.Hints, more...)
	}
	return f, nil
}

// radiusSettings are the RADIUS frontend's typed settings, from [radius]
// (and [ldap]'s domain as the realm when none is set); log takes EAP's log.
func (cfg *Config) radiusSettings(log *slog.Logger) (server.RADIUSConfig, error) {
	rc := cfg.RADIUS
	rcfg := radius.Config{
		Policies:       rc.policies(),
		QuarantineVLAN: rc.QuarantineVLAN,
		ReplyMessages:  rc.ReplyMessages,
		Realms:         rc.Realms,
		Location:       cfg.Location(),
		Retention:      time.Duration(rc.RetentionDays) * 24 * time.Hour,
		FactsTTL:       rc.FactsTTL.Duration,
	}
	if rc.Realms == nil && cfg.LDAP.Domain != "" {
		rcfg.Realms = []string{cfg.LDAP.Domain}
	}
	if rcfg.FactsTTL == 0 {
		rcfg.FactsTTL = -1 // 0s in the file means no cache
	}
	sc := server.RADIUSConfig{Server: rcfg, AuthAddress: rc.AuthAddress, AcctAddress: rc.AcctAddress, Log: log}
	ecfg, eapOn, err := eapConfig(rc.EAP)
	if err != nil {
		return server.RADIUSConfig{}, err
	}
	if eapOn {
		sc.EAP = &ecfg
	}
	return sc, nil
}

// demoEAPHints writes eapol_test configurations for the demo pupil and
// returns the commands that run them.
func demoEAPHints(e *env, d *directory.Directory, rc RADIUSSection) ([]string, error) {
	a, err := d.Store().AccountByMISID(e.ctx, demoPupilMIS)
	if err != nil {
		return nil, nil
	}
	cred, err := d.WiFiSecret(e.ctx, a)
	if err != nil {
		return nil, nil
	}
	caFile := filepath.Join(e.demoDir, demoCA)
	return eapolConfigs(e.demoDir, a.Username, cred, caFile, demoRADIUSName, rc.AuthAddress)
}

// radiusHints are radtest and radclient lines for the demo pupil, with
// their Wi-Fi credential (not their login password), against the demo NAS
// client. Outside the demo there is no such pupil and no hint.
func radiusHints(ctx context.Context, d *directory.Directory, auth, acct string) []string {
	a, err := d.Store().AccountByMISID(ctx, demoPupilMIS)
	if err != nil {
		return nil
	}
	cred, err := d.WiFiSecret(ctx, a)
	if err != nil {
		return nil
	}
	return []string{
		fmt.Sprintf("# %s's Wi-Fi credential is %s (keystage wifi show %s)", a.Username, cred, a.Username),
		fmt.Sprintf("radtest -t pap %s %s %s 0 %s", a.Username, cred, auth, demoNASSecret),
		fmt.Sprintf("radtest -t mschap %s %s %s 0 %s", a.Username, cred, auth, demoNASSecret),
		fmt.Sprintf("radtest -t pap %s wrong-password %s 0 %s   # Access-Reject", a.Username, auth, demoNASSecret),
		fmt.Sprintf(`printf 'User-Name = %s\nAcct-Status-Type = Start\nAcct-Session-Id = demo-1\nCalling-Station-Id = 02-00-00-00-00-01\n' | radclient %s acct %s`,
			a.Username, acct, demoNASSecret),
	}
}
