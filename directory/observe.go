package directory

import "time"

// Outcome is one request a frontend answered, told to Directory.Observe so
// that keystage serve can count it and time it (Prometheus). It carries no
// username and nothing secret: metrics are read by people who must not
// learn who uses the network from them.
type Outcome struct {
	// Service is the frontend: ServiceLDAP, ServiceWiFi (RADIUS) or
	// ServicePortal.
	Service Service
	// Op is what was asked: "bind", "search", "pap", "mschapv2", "eap",
	// "signin", …
	Op string
	// Result is how it ended: one of the Result constants, or a word of
	// the protocol's own (an LDAP search's result code, say).
	Result string
	// Reason is the gate's reason when Result is ResultRefused or
	// ResultQuarantined.
	Reason Reason
	// Took is how long the answer took, from the request read to the reply
	// written (or decided).
	Took time.Duration
}

// Results shared by the frontends.
const (
	ResultOK             = "ok"
	ResultBadCredentials = "bad_credentials" // unknown user or wrong secret: never says which
	ResultRefused        = "refused"         // a good credential the gate refused (see Reason)
	ResultQuarantined    = "quarantined"     // accepted into the quarantine VLAN (see Reason)
	ResultChallenge      = "challenge"       // an EAP round that goes on
	ResultInvalid        = "invalid"         // a request the protocol or the policy refuses to consider
	ResultError          = "error"           // the store or the server failed
	ResultSkipped        = "skipped"         // a job another node was running (see JobLocker)
)

// ObserveSince tells of an outcome that began at start.
func (d *Directory) ObserveSince(start time.Time, svc Service, op, result string, reason Reason) {
	if d.observer != nil {
		d.observer(Outcome{Service: svc, Op: op, Result: result, Reason: reason, Took: time.Since(start)})
	}
}

// ObserveJob tells the JobObserver, if any, that a scheduled job (the MIS
// sync, the leaver job, a purge) ran: result is ResultOK, ResultError,
// ResultSkipped, or ResultRefused (a plan left for a person).
func (d *Directory) ObserveJob(job, result string, took time.Duration) {
	if d.jobObserver != nil {
		d.jobObserver(job, result, took)
	}
}
