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

// PAP sends one PAP Access-Request to addr the way a NAS does (with a
// Message-Authenticator, which the server requires) and returns the code
// of the reply.
func PAP(ctx context.Context, addr, secret, user, password string) (layeh.Code, error) {
	p := layeh.New(layeh.CodeAccessRequest, []byte(secret))
	rfc2865.UserName_SetString(p, user)
	rfc2865.UserPassword_SetString(p, password)
	p.Add(rfc2869.MessageAuthenticator_Type, make(layeh.Attribute, 16))
	b, err := p.MarshalBinary()
	if err != nil {
		return 0, err
	}
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(b)
	copy(b[len(b)-16:], mac.Sum(nil)) // the last attribute
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	conn.SetDeadline(deadline)
	if _, err := conn.Write(b); err != nil {
		return 0, err
	}
	reply := make([]byte, layeh.MaxPacketLength)
	n, err := conn.Read(reply)
	if err != nil {
		return 0, err
	}
	if !layeh.IsAuthenticResponse(reply[:n], b, []byte(secret)) {
		return 0, errors.New("radiustest: reply authenticator wrong")
	}
	return layeh.Code(reply[0]), nil
}
