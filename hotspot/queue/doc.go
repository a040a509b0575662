// Package queue is the hotspot's durable outbox: a bounded FIFO of opaque
// records in a directory, one file per record. A record is written to a
// temporary file, fsynced, renamed into place and the directory fsynced
// before Put returns, so an accepted record survives power loss and kill -9;
// it leaves only when the consumer calls Remove after the peer accepted it.
// Each record carries a CRC so a record torn by a failing disk is detected
// and discarded instead of being sent.
package queue
