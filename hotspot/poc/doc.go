// Package poc is the hotspot's proof-of-coverage: it beacons once per beacon
// interval at a per-hotspot block offset spread across the interval, from the
// latest block hash, through the bridge; on a good tx ack it signs the beacon
// report and hands it to the durable outbox. It turns beacons heard from
// other hotspots into signed witness reports, ignoring its own beacons and
// repeats.
package poc
