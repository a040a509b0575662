package lns

import (
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

type pahoPublisher struct {
	c       mqtt.Client
	qos     byte
	timeout time.Duration
}

// PahoPublisher publishes through a connected paho client with QoS qos,
// waiting at most timeout for the broker.
func PahoPublisher(c mqtt.Client, qos byte, timeout time.Duration) Publisher {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &pahoPublisher{c: c, qos: qos, timeout: timeout}
}

func (p *pahoPublisher) Publish(topic string, payload []byte) error {
	tok := p.c.Publish(topic, p.qos, false, payload)
	if !tok.WaitTimeout(p.timeout) {
		return errors.New("publish: broker did not confirm in time")
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}
