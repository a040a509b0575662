// Package radio is the propagation model of the simulated radio world. It
// decides who hears a LoRa transmission (a proof-of-coverage beacon or a
// device uplink) and at what RSSI and SNR.
//
// The model, all in float64 (this is the simulator, never the chain):
//
//   - path loss is log-distance, PL(d) = FSPL(d0) + 10·n·log10(d/d0) + X,
//     with X a zero-mean normal shadowing term (sigma dB) drawn once per
//     link from the seed and the two node ids, so it is deterministic and
//     the same in both directions; the result is never below free-space
//     path loss, because no real link beats free space, and proof-of-coverage
//     rejects witnesses whose RSSI does;
//   - RSSI = tx power + tx antenna gain + rx antenna gain - path loss;
//   - noise floor = -174 dBm/Hz + 10·log10(bandwidth) + receiver noise
//     figure; SNR = RSSI - noise floor (capped, as demodulators report);
//   - a frame is demodulated when its SNR reaches the LoRa demodulation
//     floor of its spreading factor (-7.5 dB at SF7 down to -20 dB at SF12),
//     i.e. RSSI >= noise floor + required SNR (the sensitivity);
//   - time on air follows Semtech's formula (AN1200.13);
//   - optionally (Params.Collisions; Resolve for a batch, Lost for one
//     reception) overlapping frames on the same channel, spreading factor
//     and IQ polarity destroy each other unless one is stronger by the
//     capture threshold, and a node that is transmitting hears nothing
//     (half duplex); uplinks and downlinks (inverted IQ) do not interfere.
package radio
