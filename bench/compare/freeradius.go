package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// freeradiusConf writes a FreeRADIUS 3 configuration directory of its
// own (nothing under /etc/freeradius is read or changed) that listens on
// 127.0.0.1:port only: the files module holds every person's Wi-Fi
// credential as Cleartext-Password (what PAP, MS-CHAPv2 and PEAP all need),
// and EAP offers PEAP with EAP-MSCHAPv2 inside, with the same certificate
// as Keystage and no TLS session cache, so that every PEAP
// authentication is a full handshake on both.
//
// The users file is written once (writeUsers); this, every run, for its
// port.
func freeradiusConf(dir string, port int, pki pkiFiles, threads int) error {
	for _, d := range []string{"log", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"dictionary": "$INCLUDE /usr/share/freeradius/dictionary\n",
		"radiusd.conf": fmt.Sprintf(radiusdConf, dir, threads, radiusSecret, filepath.Join(dir, "users"),
			pki.Key, pki.Cert, pki.CA, port, radiusSections),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// writeUsers writes the files module's users file: one line per person.
func writeUsers(path string, people []person) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, p := range people {
		if strings.ContainsAny(p.Username+p.WiFi, "\" \\\n") {
			f.Close()
			return fmt.Errorf("users file: %q cannot be written unquoted", p.Username)
		}
		fmt.Fprintf(w, "%s Cleartext-Password := \"%s\"\n", p.Username, p.WiFi)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// radiusdConf is the whole server in one file: main settings, the one
// client, the modules and the two virtual servers. Arguments: the
// directory, the worker threads, the client secret, the users file, the
// key, certificate and CA files, the port, radiusSections.
const radiusdConf = `# Written by bench/compare: a FreeRADIUS for benchmarks on loopback only.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = %[1]s
confdir = %[1]s
logdir = %[1]s/log
run_dir = %[1]s/run
db_dir = %[1]s
libdir = /usr/lib/freeradius
pidfile = %[1]s/run/freeradius.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 262144
hostname_lookups = no

log {
	destination = stdout
	colourise = no
	auth = no
}

security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}

thread pool {
	start_servers = %[2]d
	max_servers = %[2]d
	min_spare_servers = 1
	max_spare_servers = %[2]d
	max_requests_per_server = 0
	auto_limit_acct = no
}

client localhost {
	ipaddr = 127.0.0.1
	secret = %[3]s
	require_message_authenticator = no
	nas_type = other
}

modules {
	files {
		filename = %[4]s
		# The inner tunnel looks people up by the same file.
		key = "%%{%%{Stripped-User-Name}:-%%{User-Name}}"
	}
	pap {
		normalise = yes
	}
	mschap {
	}
	eap {
		default_eap_type = peap
		timer_expire = 60
		ignore_unknown_eap_types = no
		cisco_accounting_username_bug = no
		max_sessions = 65536
		tls-config tls-common {
			private_key_file = %[5]s
			certificate_file = %[6]s
			ca_file = %[7]s
			cipher_list = "DEFAULT"
			cipher_server_preference = yes
			tls_min_version = "1.2"
			tls_max_version = "1.2"
			ecdh_curve = "prime256v1"
			cache {
				enable = no
			}
			verify {
			}
		}
		peap {
			tls = tls-common
			default_eap_type = mschapv2
			copy_request_to_tunnel = no
			use_tunneled_reply = no
			virtual_server = "inner-tunnel"
		}
		mschapv2 {
		}
	}
}

instantiate {
}

policy {
}

server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = %[8]d
	}
%[9]s}

server inner-tunnel {
%[9]s}
`

// radiusSections are what both virtual servers do: the outer one for PAP,
// MS-CHAPv2 and the EAP outer conversation, inner-tunnel for what PEAP
// carries (EAP-MSCHAPv2). files sets Cleartext-Password, which pap and
// mschap then check.
const radiusSections = `	authorize {
		eap {
			ok = return
		}
		files
		mschap
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
		Auth-Type MS-CHAP {
			mschap
		}
		eap
	}
`
