package radius

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"errors"
	"net/netip"
	"strings"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/microsoft"

	"keystage.dev/keystage/directory"
)

// msgBadCredentials is the Reply-Message of a wrong name or credential. It
// never says which, and reminds that Wi-Fi has its own password.
const msgBadCredentials = "Wrong username or Wi-Fi password (your Wi-Fi password is not your login password: see the portal)."

// splitUser takes the DOMAIN\ prefix that Windows supplicants add off a
// User-Name, and an @realm suffix when the realm is one of Config.Realms
// (a device that sends tpatel@school.example). sent is the name as the
// peer hashed it for MS-CHAPv2, realm and all; lookup is the name to find
// the account by. A name with a realm that is not configured keeps it,
// and so matches no account.
func (s *Server) splitUser(raw string) (sent, lookup string) {
	if i := strings.LastIndexByte(raw, '\\'); i >= 0 {
		raw = raw[i+1:]
	}
	lookup = strings.ToLower(strings.TrimSpace(raw))
	if at := strings.LastIndexByte(lookup, '@'); at >= 0 {
		for _, realm := range s.cfg.Realms {
			if strings.EqualFold(lookup[at+1:], realm) {
				lookup = lookup[:at]
				break
			}
		}
	}
	return raw, lookup
}

// method is how an Access-Request proves the credential.
type method int

const (
	methodNone method = iota
	methodPAP
	methodCHAP
	methodMSCHAPv2
	methodMSCHAPv1
)

// methodNames are the metrics' words for the methods.
var methodNames = [...]string{methodNone: "unknown", methodPAP: "pap", methodCHAP: "chap", methodMSCHAPv2: "mschapv2", methodMSCHAPv1: "mschapv1"}

// verdict is how an Access-Request ended, for Directory.Observe.
type verdict struct {
	op     string
	result string
	reason directory.Reason
}

func (v *verdict) set(result string, reason directory.Reason) { v.result, v.reason = result, reason }

// access answers an Access-Request; nil drops it (the store failed, and
// the NAS will retry).
func (s *Server) access(ctx context.Context, c *client, src netip.AddrPort, p *layeh.Packet) (resp *layeh.Packet) {
	began := time.Now()
	v := &verdict{op: methodNames[methodNone], result: directory.ResultInvalid}
	defer func() { s.d.ObserveSince(began, directory.ServiceWiFi, v.op, v.result, v.reason) }()
	defer func() { addMSCHAPError(p, resp, v) }()
	if _, ok := p.Attributes.Lookup(rfc2869.EAPMessage_Type); ok {
		v.op = "eap"
		return s.accessEAP(ctx, c, p, v)
	}
	now := s.d.Now()
	sent, username := s.splitUser(rfc2865.UserName_GetString(p))
	device := callingStation(p)

	m := methodNone
	var msch mschapv2
	var msch1 mschapv1
	if _, ok := p.Attributes.Lookup(rfc2865.UserPassword_Type); ok {
		m = methodPAP
	} else if _, ok := p.Attributes.Lookup(rfc2865.CHAPPassword_Type); ok {
		m = methodCHAP
	} else if resp, err := microsoft.MSCHAP2Response_Lookup(p); err == nil {
		var perr error
		if msch, perr = parseMSCHAPv2(microsoft.MSCHAPChallenge_Get(p), resp, sent); perr == nil {
			m = methodMSCHAPv2
		}
	} else if resp, err := microsoft.MSCHAPResponse_Lookup(p); err == nil {
		var perr error
		if msch1, perr = parseMSCHAPv1(microsoft.MSCHAPChallenge_Get(p), resp); perr == nil {
			m = methodMSCHAPv1
		}
	}
	v.op = methodNames[m]
	if m == methodNone || directory.ValidUsername(username) != nil {
		s.logReject(ctx, src, c, m, username, device, noCredentialReason(m, p, username))
		return s.reject(p, msgBadCredentials)
	}
	// The lockout is asked before the credential is looked at, so that a
	// locked attempt gets one answer whatever it carries.
	e, err := s.load(ctx, username, now)
	if err != nil && !errors.Is(err, errUnknown) {
		s.log.Error("radius: loading account", "user", username, "nas", c.name, "err", err)
		s.count.internal.Add(1)
		v.set(directory.ResultError, directory.ReasonNone)
		return nil
	}
	var acct directory.Account
	if e != nil {
		acct = e.account
	}
	att, resp := s.begin(ctx, p, acct, username, origin(device, c.name), now, v)
	if att == nil {
		s.logReject(ctx, src, c, m, username, device, "locked out after too many failures")
		return resp
	}
	if e == nil {
		s.fail(ctx, att, username, papPassword(m, p))
		v.set(directory.ResultBadCredentials, directory.ReasonNone)
		s.logReject(ctx, src, c, m, username, device, "no such user")
		return s.reject(p, msgBadCredentials)
	}
	if !s.verify(m, p, e, msch, msch1) {
		s.fail(ctx, att, username, papPassword(m, p))
		v.set(directory.ResultBadCredentials, directory.ReasonNone)
		s.logReject(ctx, src, c, m, username, device, wrongCredentialReason(e))
		return s.reject(p, msgBadCredentials)
	}
	if err := att.Succeed(ctx); err != nil {
		s.log.Warn("radius: noting a good sign-in for the lockout", "user", username, "err", err)
	}
	resp, ok := s.decide(ctx, p, c, e, now, v)
	if !ok {
		return resp
	}
	if m == methodMSCHAPv2 {
		send, recv, err := msch.mppeKeys(e.ntHashHash)
		if err != nil {
			s.count.internal.Add(1)
			v.set(directory.ResultError, directory.ReasonNone)
			return nil
		}
		microsoft.MSCHAP2Success_Add(resp, msch.success(e.ntHashHash))
		microsoft.MSMPPERecvKey_Add(resp, recv)
		microsoft.MSMPPESendKey_Add(resp, send)
		microsoft.MSMPPEEncryptionPolicy_Add(resp, microsoft.MSMPPEEncryptionPolicy_Value_EncryptionAllowed)
		microsoft.MSMPPEEncryptionTypes_Add(resp, microsoft.MSMPPEEncryptionTypes_Value_RC4128bitAllowed)
	}
	if m == methodMSCHAPv1 {
		if err := microsoft.MSCHAPMPPEKeys_Add(resp, mschapv1Keys(e.ntHashHash)); err != nil {
			s.count.internal.Add(1)
			v.set(directory.ResultError, directory.ReasonNone)
			return nil
		}
		microsoft.MSMPPEEncryptionPolicy_Add(resp, microsoft.MSMPPEEncryptionPolicy_Value_EncryptionAllowed)
		microsoft.MSMPPEEncryptionTypes_Add(resp, microsoft.MSMPPEEncryptionTypes_Value_RC4128bitAllowed)
	}
	s.succeeded(e, now)
	return resp
}

// verify checks the credential the request carries against the account's
// Wi-Fi credential, in constant time.
func (s *Server) verify(m method, p *layeh.Packet, e *entry, msch mschapv2, msch1 mschapv1) bool {
	if len(e.ntHash) != 16 {
		return false
	}
	switch m {
	case methodPAP:
		// The generated Lookup decrypts with the packet's secret and
		// Request Authenticator.
		pw, err := rfc2865.UserPassword_Lookup(p)
		if err != nil {
			return false
		}
		return subtle.ConstantTimeCompare(ntHash(string(pw)), e.ntHash) == 1
	case methodCHAP:
		cp := rfc2865.CHAPPassword_Get(p)
		if len(cp) != 17 || e.password == "" {
			return false
		}
		challenge := rfc2865.CHAPChallenge_Get(p)
		if challenge == nil {
			challenge = p.Authenticator[:]
		}
		h := md5.New()
		h.Write(cp[:1])
		h.Write([]byte(e.password))
		h.Write(challenge)
		return subtle.ConstantTimeCompare(h.Sum(nil), cp[1:]) == 1
	case methodMSCHAPv2:
		return msch.verify(e.responder())
	case methodMSCHAPv1:
		return msch1.verify(e.responder())
	}
	return false
}

// decide asks the gate about an account whose credential is good and
// returns the Access-Accept to complete (ok) or the reject to send; v is
// set to match.
func (s *Server) decide(ctx context.Context, p *layeh.Packet, c *client, e *entry, now time.Time, v *verdict) (*layeh.Packet, bool) {
	dec := s.d.Gate().Policy.Decide(e.facts, directory.ServiceWiFi, now)
	if !dec.Allow && !(dec.Quarantine && s.cfg.QuarantineVLAN != "") {
		s.log.Info("radius: refused by the gate", "user", e.account.Username, "reason", string(dec.Reason))
		v.set(directory.ResultRefused, dec.Reason)
		return s.reject(p, dec.Message(s.loc())), false
	}
	if dec.Allow {
		// The rules for personal devices: after the gate, which says
		// whether the person may use the Wi-Fi at all.
		dd, err := s.checkDevice(ctx, e, callingStation(p), now)
		switch {
		case err != nil:
			s.log.Error("radius: checking a personal device", "user", e.account.Username, "err", err)
			s.count.internal.Add(1)
			v.set(directory.ResultError, directory.ReasonNone)
			return s.reject(p, "The sign-in service cannot check this device just now: try again in a few minutes."), false
		case !dd.Allow:
			s.log.Info("radius: personal device refused", "user", e.account.Username, "device", callingStation(p), "reason", string(dd.Reason))
			v.set(directory.ResultRefused, dd.Reason)
			return s.reject(p, dd.Message()), false
		}
	}
	v.set(directory.ResultOK, directory.ReasonNone)
	resp := p.Response(layeh.CodeAccessAccept)
	// Room for the name, a policy's and MS-CHAP's attributes.
	resp.Attributes = make(layeh.Attributes, 0, 12)
	if e.userName != nil {
		resp.Add(rfc2865.UserName_Type, e.userName)
	}
	if !dec.Allow {
		v.set(directory.ResultQuarantined, dec.Reason)
		// Quarantine: the walled garden, and a word on what to do.
		addVLAN(resp, s.cfg.QuarantineVLAN)
		if s.cfg.ReplyMessages {
			replyMessage(resp, dec.Message(s.loc()))
		}
		return resp, true
	}
	if pol, ok := s.policy(e, c.school, now); ok {
		resp.Attributes = append(resp.Attributes, s.policyAttrs.get(pol)...)
	}
	return resp, true
}

func (s *Server) succeeded(e *entry, now time.Time) {
	s.uses.note(e.account.ID, now)
}

// origin is a device as the lockout knows it: its Calling-Station-Id at
// its NAS (none when the NAS does not say).
func origin(device, nas string) directory.Origin {
	if device == "" {
		return directory.Origin{}
	}
	return directory.Origin{ID: "radius:" + device + "@" + nas}
}

// begin asks the lockout about an attempt. It returns the attempt, or the
// answer to send instead (nil: drop, the store failed and the NAS will
// retry), with v set to match.
func (s *Server) begin(ctx context.Context, p *layeh.Packet, a directory.Account, username string, o directory.Origin, now time.Time,
	v *verdict) (*directory.Attempt, *layeh.Packet) {
	att, err := s.d.Lockout().Begin(ctx, a, username, o, now)
	switch {
	case errors.Is(err, directory.ErrCannotCount):
		s.log.Error("radius: refusing sign-ins while failures cannot be counted", "err", err)
		v.set(directory.ResultError, directory.ReasonNone)
		return nil, s.reject(p, "The sign-in service cannot record sign-ins just now: try again in a few minutes.")
	case err != nil:
		s.log.Error("radius: lockout", "user", username, "err", err)
		s.count.internal.Add(1)
		v.set(directory.ResultError, directory.ReasonNone)
		return nil, nil
	case att.Locked():
		dec := att.Lock.Decision()
		v.set(directory.ResultRefused, dec.Reason)
		return nil, s.reject(p, dec.Message(s.loc()))
	}
	return att, nil
}

// papPassword is the password of a PAP request, so that the same wrong one
// tried again counts once; "" for the other methods, which never show it.
func papPassword(m method, p *layeh.Packet) string {
	if m != methodPAP {
		return ""
	}
	pw, err := rfc2865.UserPassword_Lookup(p)
	if err != nil {
		return ""
	}
	return string(pw)
}

// fail counts a failure towards the lockout shared with LDAP and the
// portal.
func (s *Server) fail(ctx context.Context, att *directory.Attempt, username, password string) {
	if err := att.Fail(ctx, password); err != nil {
		s.log.Error("radius: counting a failure", "user", username, "err", err)
	}
}

func (s *Server) reject(p *layeh.Packet, msg string) *layeh.Packet {
	r := p.Response(layeh.CodeAccessReject)
	if s.cfg.ReplyMessages && msg != "" {
		replyMessage(r, msg)
	}
	return r
}

func (s *Server) loc() *time.Location {
	if s.cfg.Location != nil {
		return s.cfg.Location
	}
	return s.d.Gate().Policy.Location
}

// callingStation is the device's MAC address, normalised to
// aa-bb-cc-dd-ee-ff so that vendors' spellings count as one device.
func callingStation(p *layeh.Packet) string {
	v := rfc2865.CallingStationID_GetString(p)
	var b strings.Builder
	for _, r := range strings.ToLower(v) {
		if (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') {
			b.WriteRune(r)
		}
	}
	h := b.String()
	if len(h) != 12 {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return h[0:2] + "-" + h[2:4] + "-" + h[4:6] + "-" + h[6:8] + "-" + h[8:10] + "-" + h[10:12]
}

// accessEAP hands an EAP conversation to the EAP handler.
func (s *Server) accessEAP(ctx context.Context, c *client, p *layeh.Packet, v *verdict) *layeh.Packet {
	if s.cfg.EAP == nil {
		return s.reject(p, "")
	}
	// The inner method's lockout questions (EAPSecret, EAPFailed,
	// EAPAuthorize) are about this device.
	ea := &eapAttempt{origin: origin(callingStation(p), c.name)}
	ctx = context.WithValue(ctx, eapAttemptKey{}, ea)
	from := EAPOrigin{NAS: c.name, Station: callingStation(p)}
	res, err := s.cfg.EAP.HandleEAP(ctx, from, rfc2865.State_Get(p), eapMessage(p))
	if errors.Is(err, ErrDropEAP) {
		s.log.Debug("radius: EAP request dropped", "nas", c.name, "err", err)
		s.count.malformed.Add(1)
		return nil
	}
	if err != nil {
		s.log.Error("radius: EAP", "nas", c.name, "err", err)
		s.count.internal.Add(1)
		v.set(directory.ResultError, directory.ReasonNone)
		return nil
	}
	switch res.Outcome {
	case EAPChallenge:
		v.set(directory.ResultChallenge, directory.ReasonNone)
		r := p.Response(layeh.CodeAccessChallenge)
		addEAPMessage(r, res.EAPMessage)
		if len(res.State) > 0 {
			rfc2865.State_Set(r, res.State)
		}
		return r
	case EAPAccept:
		now := s.d.Now()
		_, username := s.splitUser(res.Username)
		e, err := s.load(ctx, username, now)
		if err != nil || len(res.MSK) < 64 {
			s.log.Error("radius: EAP accept without a usable account or key", "user", username, "err", err)
			v.set(directory.ResultError, directory.ReasonNone)
			return s.eapReject(p, res.EAPMessage, "")
		}
		resp, ok := s.decide(ctx, p, c, e, now, v)
		if !ok {
			// The gate has the last word even after the method succeeded.
			return s.eapReject(p, res.EAPMessage, replyText(resp))
		}
		addEAPMessage(resp, res.EAPMessage)
		microsoft.MSMPPERecvKey_Add(resp, res.MSK[0:32])
		microsoft.MSMPPESendKey_Add(resp, res.MSK[32:64])
		s.succeeded(e, now)
		return resp
	}
	v.set(directory.ResultBadCredentials, directory.ReasonNone)
	reason := res.Reason
	if ea.lock != nil {
		// Refused by the lockout, whatever the password: say so.
		dec := ea.lock.Decision()
		v.set(directory.ResultRefused, dec.Reason)
		reason = dec.Message(s.loc())
	}
	r := s.reject(p, reason)
	addEAPMessage(r, res.EAPMessage)
	return r
}

// eapReject turns an EAP-Success the method sent into an EAP-Failure with
// the same identifier.
func (s *Server) eapReject(p *layeh.Packet, success []byte, msg string) *layeh.Packet {
	r := s.reject(p, msg)
	id := byte(0)
	if len(success) >= 2 {
		id = success[1]
	}
	addEAPMessage(r, []byte{4, id, 0, 4})
	return r
}

func replyText(p *layeh.Packet) string {
	var b strings.Builder
	for _, a := range p.Attributes {
		if a.Type == rfc2865.ReplyMessage_Type {
			b.Write(a.Attribute)
		}
	}
	return b.String()
}
