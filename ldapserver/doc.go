// Package ldapserver is Keystage's LDAP frontend: simple bind, search,
// WhoAmI and Password Modify over the directory, for SSSD, nslcd and
// school applications that log people in on the network.
//
// It is a thin server loop over the BER codec of github.com/go-asn1-ber and
// the DN parser of github.com/go-ldap/ldap: the protocol decoding in
// message.go is pure and fuzzed; connections and their state live in
// conn.go. Every decision about who may log in belongs to the directory
// (Authenticate and its gate); this package only maps those decisions to
// LDAP results. It never writes SQL, never serves a password hash and never
// logs a password.
package ldapserver
