package devnet

import (
	"context"
	"fmt"

	"github.com/hexproof/hexproof/router/dc"
)

// KillValidator sends SIGKILL to validator i's process; the devnet starts
// it again on the same home (fault injection).
func (d *Devnet) KillValidator(i int) error {
	if i < 0 || i >= len(d.validators) {
		return fmt.Errorf("no validator %d", i)
	}
	return d.validators[i].Kill()
}

// ValidatorStarts is how many times validator i's process was started.
func (d *Devnet) ValidatorStarts(i int) int {
	if i < 0 || i >= len(d.validators) {
		return 0
	}
	return d.validators[i].Starts()
}

// RestartRouter stops a company's router and starts it again a second
// later on the same port and state (fault injection).
func (d *Devnet) RestartRouter(company string) error {
	for _, r := range d.routers {
		if r.company == company {
			r.Restart()
			return nil
		}
	}
	return fmt.Errorf("no router for company %q", company)
}

// RouterStarts is how many times a company's router was started.
func (d *Devnet) RouterStarts(company string) int {
	for _, r := range d.routers {
		if r.company == company {
			r.mu.Lock()
			defer r.mu.Unlock()
			return r.starts
		}
	}
	return 0
}

// RouterVoucher is the cumulative DC a company's router owes a hotspot for
// an epoch (its persisted voucher counter).
func (d *Devnet) RouterVoucher(company string, hotspot [32]byte, epoch uint64) (uint64, bool) {
	for _, r := range d.routers {
		if r.company == company {
			rr := r.Router()
			if rr == nil {
				return 0, false
			}
			c, ok := rr.Meter().Get(dc.Key{OUI: r.oui, Hotspot: hotspot, Epoch: epoch})
			return c.DC, ok
		}
	}
	return 0, false
}

// RestartBroker drops every MQTT connection of the embedded broker and
// brings it back on the same port two seconds later (fault injection). It
// fails when the devnet uses an external broker.
func (d *Devnet) RestartBroker() error {
	if d.broker == nil {
		return fmt.Errorf("the devnet uses the external broker %s", d.mqttURL)
	}
	d.broker.Restart()
	return nil
}

// IngestQueue returns the oracle ingest queue's counts by state.
func (d *Devnet) IngestQueue(ctx context.Context) (map[string]int, error) {
	return d.ingest.QueueStats(ctx)
}
