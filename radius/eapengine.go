package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"keystage.dev/keystage/radius/eap"
)

// EAPEngine joins the EAP engine (radius/eap) to a Server: it is the
// Server's EAPHandler, and the Server is the engine's Backend. Each needs
// the other, so set it as Config.EAP, make the Server, then Start it.
// Before Start, or without one, every EAP request is refused.
type EAPEngine struct{ engine *eap.Server }

// Start makes the engine over srv's EAP methods (EAPSecret, EAPAuthorize,
// EAPFailed), which share the server's cache, gate and lockout.
func (h *EAPEngine) Start(srv *Server, cfg eap.Config, log *slog.Logger) error {
	engine, err := eap.New(cfg, eapBackend{srv}, log)
	if err != nil {
		return err
	}
	h.engine = engine
	return nil
}

// Engine is the running engine, nil before Start.
func (h *EAPEngine) Engine() *eap.Server { return h.engine }

// HandleEAP hands one request to the engine and translates its answer.
func (h *EAPEngine) HandleEAP(ctx context.Context, from EAPOrigin, state, msg []byte) (EAPResult, error) {
	if h.engine == nil {
		return EAPResult{Outcome: EAPReject, Reason: "EAP is not configured"}, nil
	}
	res, err := h.engine.Handle(ctx, eap.Origin{NAS: from.NAS, Station: from.Station}, state, msg)
	if errors.Is(err, eap.ErrMalformed) || errors.Is(err, eap.ErrStale) {
		return EAPResult{}, fmt.Errorf("%w: %v", ErrDropEAP, err)
	}
	if err != nil {
		return EAPResult{}, err
	}
	out := EAPResult{EAPMessage: res.EAPMessage, State: res.State, Username: res.Username, MSK: res.MSK, Reason: res.Reason}
	switch res.Outcome {
	case eap.Challenge:
		out.Outcome = EAPChallenge
	case eap.Accept:
		out.Outcome = EAPAccept
	default:
		out.Outcome = EAPReject
	}
	return out, nil
}

// eapBackend is the Server as the EAP engine's Backend.
type eapBackend struct{ srv *Server }

func (b eapBackend) WiFiSecret(ctx context.Context, username string) (eap.Secret, error) {
	pw, nt, err := b.srv.EAPSecret(ctx, username)
	if errors.Is(err, ErrUnknownUser) {
		return eap.Secret{}, eap.ErrUnknownUser
	}
	return eap.Secret{Password: pw, NTHash: nt}, err
}

func (b eapBackend) Authorize(ctx context.Context, username string) error {
	return b.srv.EAPAuthorize(ctx, username)
}

func (b eapBackend) Failed(ctx context.Context, username string) { b.srv.EAPFailed(ctx, username) }
