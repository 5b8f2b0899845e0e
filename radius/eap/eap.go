// Package eap is the EAP engine behind Keystage's RADIUS server: PEAPv0 with
// EAP-MSCHAPv2 inside, and EAP-TTLS with PAP or MSCHAPv2 inside, the methods
// that phones, laptops and Chromebooks use to join WPA2/WPA3-Enterprise Wi-Fi.
//
// The RADIUS server hands Handle the reassembled EAP-Message attributes and
// the State of each Access-Request and gets back what to answer: an
// Access-Challenge with an EAP request and a State, an Access-Accept with the
// inner identity and the MSK for the MS-MPPE keys, or an Access-Reject with a
// reason. The package keeps the conversations in flight in a bounded store
// whose entries expire, and drives crypto/tls over EAP with the
// internal/tunnel package.
//
// What the RADIUS server does around Handle: require and check
// Message-Authenticator on every Access-Request and sign every reply with it
// (first attribute); answer a retransmitted request from its reply cache,
// never by calling Handle twice; join the request's EAP-Message attributes
// and pass its State; split Result.EAPMessage into EAP-Message attributes of
// at most 253 bytes; on Challenge send State; on Accept send MS-MPPE-Recv-Key
// = MSK[0:32] and MS-MPPE-Send-Key = MSK[32:64] (RFC 2548 salt-encrypted with
// the request authenticator), User-Name = Result.Username and the group
// policy; on Reject send Reply-Message = Result.Reason. An error from Handle
// means drop the request. A timer calling Sweep frees abandoned handshakes on
// a quiet server; Close ends them all at shutdown.
//
// It must not import the RADIUS server, touch the network or reach the
// directory except through Backend.
package eap

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"keystage.dev/keystage/radius/eap/wire"
)

// Errors returned by Handle when a packet should be dropped without answer.
var (
	// ErrMalformed: the EAP-Message is not an EAP Response.
	ErrMalformed = errors.New("eap: malformed EAP-Message")
	// ErrStale: the response answers a request other than the latest one of
	// its conversation (a late retransmission).
	ErrStale = errors.New("eap: response to an earlier request")
)

// ErrUnknownUser is returned by Backend.WiFiSecret for a name it does not know.
var ErrUnknownUser = errors.New("eap: unknown user")

// Secret is a person's Wi-Fi credential. NTHash may be empty when Password is
// given; MSCHAPv2 needs either, PAP needs Password.
type Secret struct {
	Password string
	NTHash   []byte
}

// Backend is what the engine asks of the directory.
type Backend interface {
	// WiFiSecret returns the Wi-Fi credential of the inner identity, or
	// ErrUnknownUser.
	WiFiSecret(ctx context.Context, username string) (Secret, error)
	// Authorize is asked after the inner credential checked out and before
	// success is sent: the gate (leaver, suspended, AUP ...). A non-nil error
	// refuses; its message is shown to the user.
	Authorize(ctx context.Context, username string) error
	// Failed is told of a wrong inner credential (for the lockout), also for
	// names WiFiSecret did not know.
	Failed(ctx context.Context, username string)
}

// Method is an EAP method the server offers.
type Method uint8

// The methods offered.
const (
	PEAP Method = Method(wire.TypePEAP)
	TTLS Method = Method(wire.TypeTTLS)
)

func (m Method) String() string {
	switch m {
	case PEAP:
		return "PEAP"
	case TTLS:
		return "TTLS"
	}
	return fmt.Sprintf("EAP type %d", uint8(m))
}

// Config configures a Server. The zero value of each field means its default.
type Config struct {
	// Certificates are the server certificate with its chain. The leaf must
	// carry the DNS name clients are told to expect in its SAN (Android 11
	// and later refuse a server without a domain match).
	Certificates []tls.Certificate
	// Methods offered, in preference order. Default PEAP, TTLS.
	Methods []Method
	// FragmentSize is the most TLS data one EAP request carries. Default
	// 1000, so that an EAP packet fits a RADIUS packet with room to spare.
	FragmentSize int
	// MinTLSVersion defaults to TLS 1.2; set tls.VersionTLS10 for old
	// clients, with LegacyCiphers.
	MinTLSVersion uint16
	// MaxTLSVersion defaults to TLS 1.2, the ceiling for PEAP and TTLS until
	// RFC 9427 keying is built and proven; New refuses anything higher.
	MaxTLSVersion uint16
	// LegacyCiphers adds RSA key exchange suites for clients with neither
	// ECDHE nor TLS 1.2 AEAD support.
	LegacyCiphers bool
	// MaxConversations bounds the conversations in flight. Default 4096.
	MaxConversations int
	// MaxConversationsPerNAS bounds those relayed by one NAS, so that a
	// flood through one access point (or a compromised one) leaves room for
	// the others. Default half of MaxConversations.
	MaxConversationsPerNAS int
	// MaxConversationsPerStation bounds those of one device
	// (Calling-Station-Id) behind one NAS: a new one ends the device's
	// oldest. Default 4.
	MaxConversationsPerStation int
	// ConversationTTL is how long a conversation may take from its first
	// packet to its last. Default 2 minutes (a person may be asked to trust
	// the certificate part way through).
	ConversationTTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// SessionTicketKeys encrypt TLS session tickets; the first issues them.
	// Nodes that share keys resume each other's sessions. Default: keys
	// crypto/tls generates and rotates, local to this process.
	SessionTicketKeys [][32]byte
	// DisableResumption turns TLS session resumption off.
	DisableResumption bool
	// ServerName is the authenticator name in MSCHAPv2 challenges.
	// Default "keystage".
	ServerName string
}

// Outcome is what the RADIUS server answers.
type Outcome int

// The outcomes.
const (
	Challenge Outcome = iota // Access-Challenge
	Accept                   // Access-Accept
	Reject                   // Access-Reject
)

func (o Outcome) String() string {
	switch o {
	case Challenge:
		return "challenge"
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("outcome %d", int(o))
}

// Result is the answer to one EAP packet.
type Result struct {
	Outcome Outcome
	// EAPMessage is the EAP packet to send, to be split into EAP-Message
	// attributes of at most 253 bytes.
	EAPMessage []byte
	// State is the State attribute of an Access-Challenge.
	State []byte
	// Username is the inner identity on Accept, and on Reject when known.
	Username string
	// Method is the method the conversation used, once chosen.
	Method Method
	// MSK is the 64-byte master session key on Accept: MS-MPPE-Recv-Key is
	// MSK[0:32] and MS-MPPE-Send-Key is MSK[32:64].
	MSK []byte
	// Resumed reports that the TLS session was resumed.
	Resumed bool
	// Reason says why on Reject, for Reply-Message and logs. No secrets.
	Reason string
}

const (
	defaultFragmentSize     = 1000
	defaultMaxConversations = 4096
	defaultMaxPerStation    = 4
	defaultConversationTTL  = 2 * time.Minute
	minFragmentSize         = 64
	// maxTLSMessage bounds one reassembled TLS message from a peer: a
	// ClientHello with a post-quantum key share is under 2 KiB, and the
	// peer sends no certificate.
	maxTLSMessage = 16384 + 2048
	// maxSteps bounds the packets of one conversation.
	maxSteps = 256
)

// withDefaults returns cfg with defaults filled in, or every problem found.
func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if len(cfg.Certificates) == 0 {
		errs = append(errs, errors.New("no server certificate"))
	}
	if len(cfg.Methods) == 0 {
		cfg.Methods = []Method{PEAP, TTLS}
	}
	seen := map[Method]bool{}
	for _, m := range cfg.Methods {
		if m != PEAP && m != TTLS {
			errs = append(errs, fmt.Errorf("method %v not supported", m))
		}
		if seen[m] {
			errs = append(errs, fmt.Errorf("method %v listed twice", m))
		}
		seen[m] = true
	}
	if cfg.FragmentSize == 0 {
		cfg.FragmentSize = defaultFragmentSize
	}
	if cfg.FragmentSize < minFragmentSize || cfg.FragmentSize > 4000 {
		errs = append(errs, fmt.Errorf("fragment size %d outside %d..4000", cfg.FragmentSize, minFragmentSize))
	}
	if cfg.MinTLSVersion == 0 {
		cfg.MinTLSVersion = tls.VersionTLS12
	}
	if cfg.MaxTLSVersion == 0 {
		cfg.MaxTLSVersion = tls.VersionTLS12
	}
	if cfg.MaxTLSVersion > tls.VersionTLS12 {
		errs = append(errs, errors.New("TLS 1.3 for PEAP and TTLS (RFC 9427) is not supported yet: set MaxTLSVersion to TLS 1.2"))
	}
	if cfg.MinTLSVersion > cfg.MaxTLSVersion {
		errs = append(errs, errors.New("MinTLSVersion above MaxTLSVersion"))
	}
	if cfg.MaxConversations == 0 {
		cfg.MaxConversations = defaultMaxConversations
	}
	if cfg.MaxConversations < 0 {
		errs = append(errs, errors.New("MaxConversations negative"))
	}
	if cfg.MaxConversationsPerNAS == 0 {
		cfg.MaxConversationsPerNAS = max(1, cfg.MaxConversations/2)
	}
	if cfg.MaxConversationsPerNAS < 0 || cfg.MaxConversationsPerNAS > cfg.MaxConversations {
		errs = append(errs, fmt.Errorf("MaxConversationsPerNAS %d outside 1..MaxConversations (%d)", cfg.MaxConversationsPerNAS, cfg.MaxConversations))
	}
	if cfg.MaxConversationsPerStation == 0 {
		cfg.MaxConversationsPerStation = min(defaultMaxPerStation, cfg.MaxConversationsPerNAS)
	}
	if cfg.MaxConversationsPerStation < 0 || cfg.MaxConversationsPerStation > cfg.MaxConversationsPerNAS {
		errs = append(errs, fmt.Errorf("MaxConversationsPerStation %d outside 1..MaxConversationsPerNAS (%d)", cfg.MaxConversationsPerStation, cfg.MaxConversationsPerNAS))
	}
	if cfg.ConversationTTL == 0 {
		cfg.ConversationTTL = defaultConversationTTL
	}
	if cfg.ConversationTTL < 0 {
		errs = append(errs, errors.New("ConversationTTL negative"))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "keystage"
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("eap config: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// legacySuites are the RSA key exchange suites LegacyCiphers adds.
var legacySuites = []uint16{
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

func (cfg Config) tlsConfig() *tls.Config {
	tc := &tls.Config{
		Certificates:           cfg.Certificates,
		MinVersion:             cfg.MinTLSVersion,
		MaxVersion:             cfg.MaxTLSVersion,
		SessionTicketsDisabled: cfg.DisableResumption,
		Time:                   cfg.Now,
	}
	if cfg.LegacyCiphers {
		for _, s := range tls.CipherSuites() {
			tc.CipherSuites = append(tc.CipherSuites, s.ID)
		}
		tc.CipherSuites = append(tc.CipherSuites, legacySuites...)
	}
	if len(cfg.SessionTicketKeys) > 0 {
		tc.SetSessionTicketKeys(cfg.SessionTicketKeys)
	}
	return tc
}

// New returns a Server. logger may be nil.
func New(cfg Config, b Backend, logger *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("eap: no backend")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, tls: cfg.tlsConfig(), backend: b, log: logger}
	rand.Read(s.cookieKey[:])
	s.store.init(cfg.MaxConversations, cfg.MaxConversationsPerNAS, cfg.MaxConversationsPerStation)
	return s, nil
}
