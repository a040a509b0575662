// Package radio converts between the LoRa radio parameters of the gateway
// bridge (ChirpStack gw v4 messages) and the integer, string-keyed ones of
// the Hexproof wire protocol ("SF9BW125", Hz, centibels).
package radio
