package radiustest

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"net"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// PAP sends one PAP Access-Request to addr and returns the code of the
// reply.
func PAP(ctx context.Context, addr, secret, user, password string) (layeh.Code, error) {
	reply, err := Exchange(ctx, addr, secret, func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, user)
		rfc2865.UserPassword_SetString(p, password)
	})
	if err != nil {
		return 0, err
	}
	return reply.Code, nil
}

// Sign adds a Message-Authenticator to request p, last, and returns the
// packet on the wire, signed as a NAS signs it (RFC 3579: HMAC-MD5 under
// the shared secret over the packet with the attribute zeroed).
func Sign(p *layeh.Packet, secret string) ([]byte, error) {
	p.Add(rfc2869.MessageAuthenticator_Type, make(layeh.Attribute, 16))
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(b)
	copy(b[len(b)-16:], mac.Sum(nil)) // the last attribute
	return b, nil
}

// Exchange sends one Access-Request with the attributes attrs adds to addr
// the way a NAS does (with a Message-Authenticator, which the server
// requires) and returns the reply, its authenticator checked.
func Exchange(ctx context.Context, addr, secret string, attrs func(p *layeh.Packet)) (*layeh.Packet, error) {
	p := layeh.New(layeh.CodeAccessRequest, []byte(secret))
	attrs(p)
	b, err := Sign(p, secret)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	conn.SetDeadline(deadline)
	if _, err := conn.Write(b); err != nil {
		return nil, err
	}
	reply := make([]byte, layeh.MaxPacketLength)
	n, err := conn.Read(reply)
	if err != nil {
		return nil, err
	}
	if !layeh.IsAuthenticResponse(reply[:n], b, []byte(secret)) {
		return nil, errors.New("radiustest: reply authenticator wrong")
	}
	return layeh.Parse(reply[:n], []byte(secret))
}
