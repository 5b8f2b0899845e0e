package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
)

// PortalConfig is the portal frontend: its settings, the services it
// offers (the MIS sync, the auditors' exports), where it listens and its
// certificate.
type PortalConfig struct {
	Portal   portal.Config
	Services portal.Services
	Listen   string
	// TLS serves HTTPS with TLSCert and TLSKey (PEM); off: plain HTTP.
	TLS             bool
	TLSCert, TLSKey string
}

// Portal makes the portal frontend over d; its listener is open when it
// returns.
func Portal(d *directory.Directory, c PortalConfig) (*Frontend, error) {
	p, err := portal.New(d.Store(), d, c.Portal, c.Services)
	if err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if c.TLS {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("portal TLS certificate: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	return &Frontend{
		Name:  "portal",
		Addrs: []string{ln.Addr().String()},
		Close: ln.Close,
		Serve: func(ctx context.Context) error { return p.Serve(ctx, ln, tlsConf) },
	}, nil
}
