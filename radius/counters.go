package radius

import "sync/atomic"

// counters are the server's running totals. They are atomics so that the
// packet path never takes a lock to count.
type counters struct {
	accessRequests, accountingRequests                         atomic.Uint64
	accepts, rejects, challenges, accountingResponses          atomic.Uint64
	retransmits, inFlight                                      atomic.Uint64
	unknownClient, malformed, noMsgAuth, badMsgAuth, badAuth   atomic.Uint64
	unexpectedCode, overload, internal                         atomic.Uint64
	disconnectSent, disconnectACK, disconnectNAK, disconnectNo atomic.Uint64
}

// Stats is a snapshot of the server's counters, ready to export as metrics
// (all are monotonic counters). Drops are packets that got no reply.
type Stats struct {
	AccessRequests     uint64 // Access-Requests and Status-Server that passed the checks
	AccountingRequests uint64
	Accepts            uint64
	Rejects            uint64
	Challenges         uint64
	AccountingReplies  uint64
	// Retransmits were answered from the reply cache.
	Retransmits uint64
	// InFlight are retransmissions dropped because the first copy was still
	// being answered.
	InFlight uint64

	DroppedUnknownClient uint64 // source address of no NAS client
	DroppedMalformed     uint64 // header or attributes do not parse
	DroppedNoMsgAuth     uint64 // Access-Request without Message-Authenticator
	DroppedBadMsgAuth    uint64 // Message-Authenticator wrong (or twice)
	DroppedBadAuth       uint64 // Accounting-Request authenticator wrong
	DroppedCode          uint64 // a code this port does not serve
	DroppedOverload      uint64 // the reply cache was full
	DroppedInternal      uint64 // the store failed; the NAS will retry

	DisconnectsSent     uint64
	DisconnectACKs      uint64
	DisconnectNAKs      uint64
	DisconnectNoAnswers uint64
}

// Stats returns the counters now.
func (s *Server) Stats() Stats {
	c := &s.count
	return Stats{
		AccessRequests:       c.accessRequests.Load(),
		AccountingRequests:   c.accountingRequests.Load(),
		Accepts:              c.accepts.Load(),
		Rejects:              c.rejects.Load(),
		Challenges:           c.challenges.Load(),
		AccountingReplies:    c.accountingResponses.Load(),
		Retransmits:          c.retransmits.Load(),
		InFlight:             c.inFlight.Load(),
		DroppedUnknownClient: c.unknownClient.Load(),
		DroppedMalformed:     c.malformed.Load(),
		DroppedNoMsgAuth:     c.noMsgAuth.Load(),
		DroppedBadMsgAuth:    c.badMsgAuth.Load(),
		DroppedBadAuth:       c.badAuth.Load(),
		DroppedCode:          c.unexpectedCode.Load(),
		DroppedOverload:      c.overload.Load(),
		DroppedInternal:      c.internal.Load(),
		DisconnectsSent:      c.disconnectSent.Load(),
		DisconnectACKs:       c.disconnectACK.Load(),
		DisconnectNAKs:       c.disconnectNAK.Load(),
		DisconnectNoAnswers:  c.disconnectNo.Load(),
	}
}

// Dropped is the total of packets dropped without a reply.
func (st Stats) Dropped() uint64 {
	return st.DroppedUnknownClient + st.DroppedMalformed + st.DroppedNoMsgAuth + st.DroppedBadMsgAuth +
		st.DroppedBadAuth + st.DroppedCode + st.DroppedOverload + st.DroppedInternal
}
