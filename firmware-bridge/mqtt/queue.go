package mqtt

import "sync"

// message is one publish.
type message struct {
	topic    string
	payload  []byte
	retained bool
	event    string // metric label: up, stats, ack, state
}

// queue is a bounded FIFO (a ring that grows on demand, so an idle bridge
// holds no memory for it) with a wake-up channel for its single consumer.
type queue struct {
	mu     sync.Mutex
	ring   []message
	head   int
	n      int
	max    int
	notify chan struct{}
}

func newQueue(max int) *queue {
	return &queue{max: max, notify: make(chan struct{}, 1)}
}

func (q *queue) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *queue) grow() {
	c := 2 * len(q.ring)
	if c < 64 {
		c = 64
	}
	r := make([]message, c)
	for i := range q.n {
		r[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = r, 0
}

// push appends m unless the queue holds max messages already (or, with
// force, always).
func (q *queue) push(m message, force bool) bool {
	q.mu.Lock()
	if q.n >= q.max && !force {
		q.mu.Unlock()
		return false
	}
	if q.n == len(q.ring) {
		q.grow()
	}
	q.ring[(q.head+q.n)%len(q.ring)] = m
	q.n++
	q.mu.Unlock()
	q.wake()
	return true
}

// pushFront puts ms (in order) before everything queued, ignoring max:
// they are messages that were already accepted once (a retry after a lost
// connection) or states that must not be dropped.
func (q *queue) pushFront(ms []message) {
	if len(ms) == 0 {
		return
	}
	q.mu.Lock()
	for q.n+len(ms) > len(q.ring) {
		q.grow()
	}
	for i := len(ms) - 1; i >= 0; i-- {
		q.head = (q.head - 1 + len(q.ring)) % len(q.ring)
		q.ring[q.head] = ms[i]
		q.n++
	}
	q.mu.Unlock()
	q.wake()
}

// pop moves up to max messages into dst.
func (q *queue) pop(dst []message, max int) []message {
	q.mu.Lock()
	for q.n > 0 && max > 0 {
		dst = append(dst, q.ring[q.head])
		q.ring[q.head] = message{}
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		max--
	}
	if q.n == 0 {
		q.head = 0
		if len(q.ring) > 4096 {
			q.ring = nil // give a burst's memory back
		}
	}
	q.mu.Unlock()
	return dst
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
