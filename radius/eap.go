package radius

import "context"

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

// EAPHandler runs the EAP methods (PEAP, TTLS). The server hands it the
// State attribute and the joined EAP-Message attributes of each
// Access-Request that carries EAP, and answers with what it returns. The
// reply cache means it sees each request once, however often the NAS
// retransmits it.
type EAPHandler interface {
	HandleEAP(ctx context.Context, state, eapMessage []byte) (EAPResult, error)
}

// EAPHandlerFunc adapts a function to EAPHandler (the lead wires
// (*eap.Server).Handle in through it).
type EAPHandlerFunc func(ctx context.Context, state, eapMessage []byte) (EAPResult, error)

// HandleEAP calls f.
func (f EAPHandlerFunc) HandleEAP(ctx context.Context, state, eapMessage []byte) (EAPResult, error) {
	return f(ctx, state, eapMessage)
}
