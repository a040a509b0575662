package devnet

import (
	"context"
	"fmt"

	"github.com/hexproof/hexproof/router"
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

// KillRouter sends SIGKILL to a company's router process; the devnet
// starts it again on the same port and voucher state (fault injection).
func (d *Devnet) KillRouter(company string) error {
	for _, r := range d.routers {
		if r.company == company {
			return r.proc.Kill()
		}
	}
	return fmt.Errorf("no router for company %q", company)
}

// RouterStarts is how many times a company's router was started.
func (d *Devnet) RouterStarts(company string) int {
	for _, r := range d.routers {
		if r.company == company {
			return r.proc.Starts()
		}
	}
	return 0
}

// routerMeter reads a company's router's persisted voucher counters.
func (d *Devnet) routerMeter(company string) (*dc.Meter, uint64, error) {
	for _, r := range d.routers {
		if r.company == company {
			cfg := router.Config{StateDir: d.routerStateDir(company)}
			m, err := dc.Open(cfg.VoucherFile())
			return m, r.oui, err
		}
	}
	return nil, 0, fmt.Errorf("no router for company %q", company)
}

// RouterVoucher is the cumulative DC a company's router owes a hotspot for
// an epoch, as it persisted it (what its signed vouchers say at most).
func (d *Devnet) RouterVoucher(company string, hotspot [32]byte, epoch uint64) (uint64, bool) {
	m, oui, err := d.routerMeter(company)
	if err != nil {
		return 0, false
	}
	c, ok := m.Get(dc.Key{OUI: oui, Hotspot: hotspot, Epoch: epoch})
	return c.DC, ok
}

// RouterPromised is the DC a company's router has promised to hotspots so
// far, as persisted.
func (d *Devnet) RouterPromised(company string) uint64 {
	m, oui, err := d.routerMeter(company)
	if err != nil {
		return 0
	}
	return m.Promised(oui)
}

// KillBroker sends SIGKILL to the embedded MQTT broker's process; the
// devnet starts it again on the same port (fault injection). It fails when
// the devnet uses an external broker.
func (d *Devnet) KillBroker() error {
	if d.broker == nil {
		return fmt.Errorf("the devnet uses the external broker %s", d.mqttURL)
	}
	return d.broker.proc.Kill()
}

// BrokerStarts is how many times the embedded broker was started.
func (d *Devnet) BrokerStarts() int {
	if d.broker == nil {
		return 0
	}
	return d.broker.proc.Starts()
}

// IngestQueue returns the oracle ingest queue's counts by state.
func (d *Devnet) IngestQueue(ctx context.Context) (map[string]int, error) {
	return d.ingest.QueueStats(ctx)
}
