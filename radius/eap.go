package radius

import (
	"context"
	"errors"
	"time"

	"keystage.dev/keystage/directory"
)

// EAPOutcome is where an EAP conversation stands after one message.
type EAPOutcome int

// The outcomes.
const (
	EAPChallenge EAPOutcome = iota + 1
	EAPAccept
	EAPReject
)

// EAPResult is an EAP handler's answer to one EAP message.
type EAPResult struct {
	Outcome EAPOutcome
	// EAPMessage is the EAP packet to send; the server splits it into
	// EAP-Message attributes of at most 253 bytes.
	EAPMessage []byte
	// State goes in the State attribute of an Access-Challenge.
	State []byte
	// Username is the inner identity, known on Accept (and on Reject when
	// the peer got that far). Its group policy applies on Accept.
	Username string
	// MSK is the 64-byte master session key on Accept: MS-MPPE-Recv-Key is
	// MSK[0:32] and MS-MPPE-Send-Key is MSK[32:64] (RFC 5216 2.3).
	MSK []byte
	// Reason says why on Reject, for the Reply-Message. No secrets.
	Reason string
}

// EAPOrigin is where an EAP request comes from: the NAS client's name and
// the device's Calling-Station-Id (normalised; empty when the NAS sends
// none). The handler bounds the conversations each may hold.
type EAPOrigin struct {
	NAS     string
	Station string
}

// EAPHandler runs the EAP methods (PEAP, TTLS). The server hands it the
// origin, the State attribute and the joined EAP-Message attributes of each
// Access-Request that carries EAP, and answers with what it returns. The
// reply cache means it sees each request once, however often the NAS
// retransmits it.
type EAPHandler interface {
	HandleEAP(ctx context.Context, from EAPOrigin, state, eapMessage []byte) (EAPResult, error)
}

// EAPHandlerFunc adapts a function to EAPHandler.
type EAPHandlerFunc func(ctx context.Context, from EAPOrigin, state, eapMessage []byte) (EAPResult, error)

// HandleEAP calls f.
func (f EAPHandlerFunc) HandleEAP(ctx context.Context, from EAPOrigin, state, eapMessage []byte) (EAPResult, error) {
	return f(ctx, from, state, eapMessage)
}

// ErrDropEAP, wrapped in an error from an EAPHandler, drops the request
// quietly as malformed (a response to an earlier request, a packet that is
// not EAP): the NAS retransmits or gives up, as it would on a lost packet.
var ErrDropEAP = errors.New("radius: drop EAP request")

// ErrUnknownUser is what EAPSecret returns for a name with no account.
var ErrUnknownUser = errors.New("radius: unknown user")

// The three methods below are what an EAP engine asks of the directory
// (radius/eap's Backend, which EAPEngine adapts them to). They go
// through the same cached facts, gate and lockout as PAP and MS-CHAPv2, so
// that an inner MS-CHAPv2 in PEAP costs what a bare one costs.

// eapAttempt is what the server knows of the EAP request being handled,
// carried in its context to the methods below.
type eapAttempt struct {
	origin directory.Origin
	lock   *directory.Lock // set when the lockout refused the attempt
}

type eapAttemptKey struct{}

// withEAPAttempt makes sure ctx carries an eapAttempt: the server puts one
// in for each request; a caller that has none asks about an unknown device.
func withEAPAttempt(ctx context.Context) context.Context {
	if _, ok := ctx.Value(eapAttemptKey{}).(*eapAttempt); ok {
		return ctx
	}
	return context.WithValue(ctx, eapAttemptKey{}, &eapAttempt{})
}

// eapBegin asks the lockout about an inner identity from the device of the
// request in ctx. nil without an error: the lockout refused it, and the
// request's reply will say so.
func (s *Server) eapBegin(ctx context.Context, e *entry, name string, now time.Time) (*directory.Attempt, error) {
	ea := ctx.Value(eapAttemptKey{}).(*eapAttempt) // withEAPAttempt has put it there
	var a directory.Account
	if e != nil {
		a = e.account
	}
	att, err := s.d.Lockout().Begin(ctx, a, name, ea.origin, now)
	if err != nil {
		return nil, err
	}
	if att.Locked() {
		ea.lock = &att.Lock
		return nil, nil
	}
	return att, nil
}

// EAPSecret returns the Wi-Fi credential of an inner identity and its NT
// hash: ErrUnknownUser when there is no such account, and an empty
// password when it has no credential in force (the method then fails, and
// Failed is told). An identity the lockout refuses from this device is
// answered as unknown, so that the method fails whatever the password, at
// the same cost, and the reply gives the lock's message.
func (s *Server) EAPSecret(ctx context.Context, username string) (password string, ntHash []byte, err error) {
	ctx = withEAPAttempt(ctx)
	_, name := s.splitUser(username)
	now := s.d.Now()
	e, err := s.load(ctx, name, now)
	if err != nil && !errors.Is(err, errUnknown) {
		return "", nil, err
	}
	att, err := s.eapBegin(ctx, e, name, now)
	if err != nil {
		return "", nil, err
	}
	if e == nil || att == nil {
		return "", nil, ErrUnknownUser
	}
	return e.password, e.ntHash, nil
}

// EAPAuthorize asks the gate about an inner identity whose credential
// checked out. A refusal's message says why, for the person.
func (s *Server) EAPAuthorize(ctx context.Context, username string) error {
	ctx = withEAPAttempt(ctx)
	_, name := s.splitUser(username)
	now := s.d.Now()
	e, err := s.load(ctx, name, now)
	if err != nil {
		return err
	}
	att, err := s.eapBegin(ctx, e, name, now)
	if err != nil {
		return err
	}
	if att == nil {
		// Locked since the identity was looked up.
		dec := ctx.Value(eapAttemptKey{}).(*eapAttempt).lock.Decision()
		return &eapRefusal{msg: dec.Message(s.loc()), err: &directory.RefusedError{Account: e.account, Decision: dec}}
	}
	if err := att.Succeed(ctx); err != nil {
		s.log.Warn("radius: noting a good sign-in for the lockout", "user", name, "err", err)
	}
	dec := s.d.Gate().Policy.Decide(e.facts, directory.ServiceWiFi, now)
	if dec.Allow || (dec.Quarantine && s.cfg.QuarantineVLAN != "") {
		return nil
	}
	return &eapRefusal{msg: dec.Message(s.loc()), err: &directory.RefusedError{Account: e.account, Decision: dec}}
}

// eapRefusal is the gate's refusal of an inner identity. The EAP engine puts
// an error's text in the Reply-Message, so it reads as the person's message
// (as PAP's does), while errors.As still finds the decision.
type eapRefusal struct {
	msg string
	err *directory.RefusedError
}

func (r *eapRefusal) Error() string { return r.msg }
func (r *eapRefusal) Unwrap() error { return r.err }

// EAPFailed counts a wrong inner credential towards the lockout, against
// the device of the request (its Calling-Station-Id at its NAS). An
// attempt the lockout had already refused is not counted again.
func (s *Server) EAPFailed(ctx context.Context, username string) {
	ctx = withEAPAttempt(ctx)
	_, name := s.splitUser(username)
	now := s.d.Now()
	e, err := s.load(ctx, name, now)
	if err != nil && !errors.Is(err, errUnknown) {
		s.log.Error("radius: EAP failure of an account that cannot be loaded", "user", name, "err", err)
		return
	}
	att, err := s.eapBegin(ctx, e, name, now)
	if err != nil {
		s.log.Error("radius: lockout", "user", name, "err", err)
		return
	}
	if att == nil {
		return
	}
	s.fail(ctx, att, name, "")
}
