package siem

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Facility is a syslog facility (RFC 5424 section 6.2.1).
type Facility int

// Facilities by name, for the configuration.
var Facilities = map[string]Facility{
	"auth": 4, "authpriv": 10, "security": 13, "audit": 13, "daemon": 3,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Header is what a syslog message says besides its record.
type Header struct {
	Facility Facility
	Hostname string
	AppName  string
	ProcID   string
}

// Format writes m as an RFC 5424 message with no structured data, the
// record as MSG (a JSON object, ASCII-safe).
func Format(h Header, m Message) []byte {
	b := make([]byte, 0, 128+len(m.Body))
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(h.Facility)*8+int64(m.Severity), 10)
	b = append(b, ">1 "...)
	b = m.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	b = appendField(b, h.Hostname, 255)
	b = append(b, ' ')
	b = appendField(b, h.AppName, 48)
	b = append(b, ' ')
	b = appendField(b, h.ProcID, 128)
	b = append(b, ' ')
	b = appendField(b, m.MsgID, 32)
	b = append(b, " - "...)
	return append(b, m.Body...)
}

// appendField appends a header field: printable US-ASCII, at most n bytes,
// "-" when empty (RFC 5424 section 6).
func appendField(b []byte, s string, n int) []byte {
	if s == "" {
		return append(b, '-')
	}
	for i := 0; i < len(s) && i < n; i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// Frame prefixes msg with its length: octet counting (RFC 5425 section
// 4.3, RFC 6587 section 3.4.1), which a message with a newline survives.
func Frame(msg []byte) []byte {
	out := strconv.AppendInt(make([]byte, 0, len(msg)+8), int64(len(msg)), 10)
	out = append(out, ' ')
	return append(out, msg...)
}

// TLSConfig trusts the collector's certificate from caFile (a PEM bundle)
// and presents certFile and keyFile when both are given (a collector that
// asks for client certificates). serverName is checked against the
// collector's certificate; empty, the host of the address is.
func TLSConfig(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("siem CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("siem CA file %s: no PEM certificate in it", caFile)
	}
	c := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("siem client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// Syslog sends messages to a collector over TLS, one connection, dialled
// when needed and dropped on the first error (the forwarder then backs off
// and sends again).
type Syslog struct {
	Address string
	TLS     *tls.Config // nil: plain TCP, for a collector on the same host only
	Header  Header
	Timeout time.Duration // for dialling and for each write; default 10s

	conn     net.Conn
	lastSend time.Time
}

func (s *Syslog) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

// Send writes one framed message.
func (s *Syslog) Send(ctx context.Context, m Message) error {
	if s.conn != nil && time.Since(s.lastSend) > time.Second && !s.alive() {
		s.Close()
	}
	if s.conn == nil {
		d := &net.Dialer{Timeout: s.timeout()}
		var (
			conn net.Conn
			err  error
		)
		if s.TLS != nil {
			cfg := s.TLS.Clone()
			if cfg.ServerName == "" {
				if host, _, herr := net.SplitHostPort(s.Address); herr == nil {
					cfg.ServerName = host
				}
			}
			conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", s.Address)
		} else {
			conn, err = d.DialContext(ctx, "tcp", s.Address)
		}
		if err != nil {
			return fmt.Errorf("connect to %s: %w", s.Address, err)
		}
		s.conn = conn
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.timeout()))
	if _, err := s.conn.Write(Frame(Format(s.Header, m))); err != nil {
		s.Close()
		return fmt.Errorf("send to %s: %w", s.Address, err)
	}
	s.lastSend = time.Now()
	return nil
}

// alive reads without waiting: a collector that closed the connection
// (restarted) shows as EOF, and the next message goes on a new one rather
// than into a socket nobody reads. A collector never writes to us.
func (s *Syslog) alive() bool {
	s.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	var buf [1]byte
	_, err := s.conn.Read(buf[:])
	s.conn.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close drops the connection.
func (s *Syslog) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
