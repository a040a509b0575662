// Package sim holds the simulated parts of the devnet: the radio world
// (world, radio), a Semtech packet forwarder (pktfwd, gwmp), simulated end
// devices (device, sensor, joinkeys) and a small LoRaWAN network server per
// simulated IoT company (lns). Everything else in the devnet is the real
// component talking its real protocol; only the radio is simulated.
package sim
