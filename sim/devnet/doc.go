// Package devnet runs the whole Hexproof network on one machine: N CometBFT
// validators (separate `chain start` processes with their own ports), an
// oracle (PoC ingest, price feed, indexer into PostgreSQL, explorer), an MQTT
// broker (embedded mochi-mqtt unless one is given), one router and one
// simulated LoRaWAN network server per simulated IoT company (each with its
// own OUI on chain, DevAddr range and DC escrow funded by burning HXP), and per
// simulated hotspot a real firmware bridge and hotspot agent fed by a
// simulated packet forwarder over GWMP/UDP. Only the radio is simulated
// (sim/world, sim/radio, sim/air).
//
// New builds a Devnet from a Config without starting anything; Run brings the
// network up (creating or reusing the state directory), writes
// DIR/endpoints.json when everything is ready and serves until its context
// ends, then stops every component, validators last.
package devnet
