package main

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"

	"keystage.dev/keystage/private"
	"keystage.dev/keystage/radius/eap"
)

// EAPSection configures PEAP and TTLS for Wi-Fi (802.1X).
type EAPSection struct {
	// Methods offered, in order of preference: "peap", "ttls" (both by
	// default). Empty: EAP off (PAP, CHAP and MS-CHAP only, which no
	// WPA-Enterprise client sends).
	Methods []string `toml:"methods"`
	// CertFile and KeyFile are the server certificate (with its chain) and
	// key in PEM. Phones check it: Android 11+ insists on a CA and a domain,
	// so the certificate's DNS name must be what people type as the domain.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// FragmentSize is the most TLS data in one EAP packet.
	FragmentSize int `toml:"fragment_size"`
	// LegacyCiphers offers RSA key exchange to old clients that need it.
	LegacyCiphers bool `toml:"legacy_ciphers"`
	// MaxConversations bounds the sign-ins in flight; MaxPerNAS those
	// through one NAS client; MaxPerDevice those of one Calling-Station-Id
	// behind one NAS. 0: the engine's defaults (4096, half of it, 4).
	MaxConversations int `toml:"max_conversations"`
	MaxPerNAS        int `toml:"max_conversations_per_nas"`
	MaxPerDevice     int `toml:"max_conversations_per_device"`
}

const exampleEAP = `
[radius.eap]
# PEAP (MS-CHAPv2 inside) and TTLS (PAP or MS-CHAPv2 inside), as phones,
# laptops and Chromebooks use them. Empty: EAP off.
methods = ["peap", "ttls"]
# The server certificate (with its chain) and key, PEM. Its DNS name is the
# "domain" people type on Android; the CA is what they choose as "CA
# certificate". keystage cert radius --name DOMAIN makes a CA of the
# Wi-Fi's own and this certificate (ECDSA P-256) in /etc/keystage.
cert_file = ""
key_file = ""
fragment_size = 1000
# RSA key exchange for old clients (off: ECDHE only).
legacy_ciphers = false
# Sign-ins in flight: in all, through one NAS client, and from one device
# (Calling-Station-Id) behind one NAS. A flood of new sign-ins ends the
# flooding NAS's or device's own oldest unanswered ones first; sign-ins that
# have got past their first answer are never ended to make room.
max_conversations = 4096
max_conversations_per_nas = 2048
max_conversations_per_device = 4
`

func (s *EAPSection) validate(p *problems, enabled bool) {
	for _, m := range s.Methods {
		if !oneOf(m, "peap", "ttls") {
			p.add("radius.eap.methods: %q: use peap and/or ttls", m)
		}
	}
	if enabled && len(s.Methods) > 0 && (s.CertFile == "" || s.KeyFile == "") {
		p.add("radius.eap: set cert_file and key_file (the certificate phones check), or methods = [] to turn EAP off")
	}
	if s.MaxConversations < 0 || s.MaxPerNAS < 0 || s.MaxPerDevice < 0 {
		p.add("radius.eap.max_conversations, max_conversations_per_nas and max_conversations_per_device: use 0 (the default) or more")
	}
	if total := cmp.Or(s.MaxConversations, 4096); s.MaxPerNAS > total {
		p.add("radius.eap.max_conversations_per_nas %d is more than max_conversations %d", s.MaxPerNAS, total)
	}
	if s.MaxPerNAS > 0 && s.MaxPerDevice > s.MaxPerNAS {
		p.add("radius.eap.max_conversations_per_device %d is more than max_conversations_per_nas %d", s.MaxPerDevice, s.MaxPerNAS)
	}
	if s.FragmentSize != 0 && (s.FragmentSize < 64 || s.FragmentSize > 4000) {
		p.add("radius.eap.fragment_size %d: use 64 to 4000 (1000 fits RADIUS well)", s.FragmentSize)
	}
}

// eapConfig is the EAP engine's configuration from the [radius.eap]
// section; ok is false when EAP is off.
func eapConfig(s EAPSection) (cfg eap.Config, ok bool, err error) {
	if len(s.Methods) == 0 {
		return eap.Config{}, false, nil
	}
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return eap.Config{}, false, fmt.Errorf("radius.eap certificate: %w", err)
	}
	var methods []eap.Method
	for _, m := range s.Methods {
		switch m {
		case "peap":
			methods = append(methods, eap.PEAP)
		case "ttls":
			methods = append(methods, eap.TTLS)
		}
	}
	return eap.Config{
		Certificates:  []tls.Certificate{cert},
		Methods:       methods,
		FragmentSize:  s.FragmentSize,
		LegacyCiphers: s.LegacyCiphers,

		MaxConversations:           s.MaxConversations,
		MaxConversationsPerNAS:     s.MaxPerNAS,
		MaxConversationsPerStation: s.MaxPerDevice,
	}, true, nil
}

// eapolConfigs writes eapol_test configurations for the demo pupil into dir
// (PEAP-MSCHAPv2, TTLS-PAP and TTLS-MSCHAPv2, checking the server's
// certificate as Android does: a CA and a domain) and returns the commands
// that use them.
func eapolConfigs(dir, user, credential, caFile, domain, auth string) ([]string, error) {
	host, port, err := net.SplitHostPort(auth)
	if err != nil {
		return nil, fmt.Errorf("auth address %q: %w", auth, err)
	}
	var hints []string
	for _, m := range []struct{ name, method, phase2 string }{
		{"peap-mschapv2", "PEAP", "auth=MSCHAPV2"},
		{"ttls-pap", "TTLS", "auth=PAP"},
		{"ttls-mschapv2", "TTLS", "auth=MSCHAPV2"},
	} {
		conf := fmt.Sprintf(`network={
	ssid="keystage-demo"
	key_mgmt=WPA-EAP
	eap=%s
	identity=%q
	anonymous_identity="anonymous@demo"
	password=%q
	phase1="peapver=0"
	phase2=%q
	ca_cert=%q
	domain_suffix_match=%q
}
`, m.method, user, credential, m.phase2, caFile, domain)
		path := filepath.Join(dir, "eapol-"+m.name+".conf")
		if err := private.WriteFile(path, []byte(conf)); err != nil {
			return nil, err
		}
		hints = append(hints, fmt.Sprintf("eapol_test -c %s -a %s -p %s -s %s -r 1   # %s", path, host, port, demoNASSecret, m.name))
	}
	return hints, nil
}
