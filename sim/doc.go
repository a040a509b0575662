// Package sim holds the simulated parts of the devnet: the radio world
// (world: cities, hotspots, companies, devices; radio: the propagation
// model; air: the running world that carries frames), a Semtech packet
// forwarder per hotspot (pktfwd, with its own GWMP codec in gwmp),
// simulated end devices (device, sensor, joinkeys) and a small LoRaWAN
// network server per simulated IoT company (lns). Everything else in the
// devnet is the real component talking its real protocol; only the radio
// is simulated. docs/sim.md describes the model and the world file.
package sim
