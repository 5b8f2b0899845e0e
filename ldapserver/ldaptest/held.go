package ldaptest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// OIDNoticeOfDisconnection names the unsolicited notification a server
// sends before it closes a connection (RFC 4511 section 4.4.1).
const OIDNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036"

// ErrNoNotice is a held connection that closed without a Notice of
// Disconnection.
var ErrNoNotice = errors.New("connection closed without a notice of disconnection")

// Held is a bound connection held open the way an application holds its
// own, read raw: a client library swallows an unsolicited notification,
// and the test must see it.
type Held struct {
	c net.Conn
}

// Notice is a Notice of Disconnection as received.
type Notice struct {
	Code       int
	Diagnostic string
}

// BindHeld connects to addr and binds as dn with a simple bind; the caller
// closes it.
func BindHeld(addr, dn, password string) (*Held, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	h := &Held{c: c}
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "BindRequest")
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "version"))
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "name"))
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, "simple"))
	msg := ber.NewSequence("LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 1, "messageID"))
	msg.AppendChild(req)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(msg.Bytes()); err != nil {
		c.Close()
		return nil, err
	}
	id, op, err := h.read()
	if err == nil && (id != 1 || op.Tag != 1) {
		err = fmt.Errorf("bind: unexpected message %d, tag %d", id, op.Tag)
	}
	if err == nil {
		if code, diag := resultOf(op); code != 0 {
			err = fmt.Errorf("bind as %s: result %d: %s", dn, code, diag)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return h, nil
}

// Close closes the connection.
func (h *Held) Close() error { return h.c.Close() }

// AwaitNotice waits up to d for the server to send a Notice of
// Disconnection and close the connection. It fails with ErrNoNotice when
// the server closes without one, and with a timeout when the connection
// stays open.
func (h *Held) AwaitNotice(d time.Duration) (Notice, error) {
	h.c.SetReadDeadline(time.Now().Add(d))
	id, op, err := h.read()
	if errors.Is(err, io.EOF) {
		return Notice{}, ErrNoNotice
	}
	if err != nil {
		return Notice{}, err
	}
	if id != 0 || op.Tag != 24 || len(op.Children) < 4 || op.Children[3].Tag != 10 || op.Children[3].Data.String() != OIDNoticeOfDisconnection {
		return Notice{}, fmt.Errorf("message %d, tag %d: not a notice of disconnection", id, op.Tag)
	}
	code, diag := resultOf(op)
	n := Notice{Code: code, Diagnostic: diag}
	// The server closes after the notice.
	if _, err := io.Copy(io.Discard, h.c); err != nil {
		return n, fmt.Errorf("after the notice the connection stayed open: %w", err)
	}
	return n, nil
}

// read reads one LDAPMessage: its id and protocol operation.
func (h *Held) read() (int64, *ber.Packet, error) {
	p, err := ber.ReadPacket(h.c)
	if err != nil {
		return 0, nil, err
	}
	if len(p.Children) < 2 {
		return 0, nil, errors.New("short LDAPMessage")
	}
	id, ok := p.Children[0].Value.(int64)
	if !ok {
		return 0, nil, errors.New("LDAPMessage without an id")
	}
	return id, p.Children[1], nil
}

// resultOf reads an LDAPResult's code and diagnostic message.
func resultOf(op *ber.Packet) (int, string) {
	if len(op.Children) < 3 {
		return -1, "short result"
	}
	code, _ := op.Children[0].Value.(int64)
	diag, _ := op.Children[2].Value.(string)
	return int(code), diag
}
