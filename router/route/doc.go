// Package route decides which OUI served by this router a LoRaWAN uplink
// belongs to: data frames by DevAddr range, join requests by JoinEUI/DevEUI
// pair, as the OUIs' configurations on chain say. A Table is immutable; the
// router swaps in a new one when the chain view refreshes.
package route
