package ingest

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Observer is told what ingest does (metrics). Its methods are called from
// many goroutines and must be cheap; Config.Observer nil observes nothing.
type Observer interface {
	// Report counts one report of kind ReportBeacon or ReportWitness:
	// accepted (queued) when rejected is "", else rejected for that reason
	// (a Reason, or a gRPC code such as "unavailable" when the oracle could
	// not take it for a cause of its own).
	Report(kind, rejected string)
	// Receipt counts one receipt event: ReceiptSubmitted, ReceiptCommitted,
	// ReceiptDuplicate, ReceiptRejected or ReceiptError.
	Receipt(event string)
}

// Report kinds.
const (
	ReportBeacon  = "beacon"
	ReportWitness = "witness"
)

// Receipt events.
const (
	// ReceiptSubmitted: the chain took the receipt into its mempool.
	ReceiptSubmitted = "submitted"
	// ReceiptCommitted: the receipt was committed with code 0.
	ReceiptCommitted = "committed"
	// ReceiptDuplicate: another oracle's receipt of the beacon came first.
	ReceiptDuplicate = "duplicate"
	// ReceiptRejected: the chain refused the receipt (at CheckTx or with a
	// non-zero code when committed).
	ReceiptRejected = "rejected"
	// ReceiptError: the receipt could not be submitted (network, nonce);
	// it is retried until MaxAttempts.
	ReceiptError = "error"
)

type nopObserver struct{}

func (nopObserver) Report(string, string) {}
func (nopObserver) Receipt(string)        {}

// observeReport counts the outcome of one SubmitBeacon/SubmitWitness call.
func (s *Service) observeReport(kind string, err error) {
	if err == nil {
		s.cfg.Observer.Report(kind, "")
		return
	}
	if r := ReasonOf(err); r != "" {
		s.cfg.Observer.Report(kind, string(r))
		return
	}
	s.cfg.Observer.Report(kind, strings.ToLower(codeName(status.Code(err))))
}

func codeName(c codes.Code) string {
	// codes.Code.String gives "Unavailable", "DeadlineExceeded"...; snake case
	// keeps label values alike.
	n := c.String()
	var b strings.Builder
	for i, r := range n {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}
