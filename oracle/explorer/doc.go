// Package explorer serves the oracle's JSON API over the indexed chain
// history (documented in docs/api.md) and the embedded web page: a coverage
// map that draws the network's H3 hexes (boundaries computed here with
// h3-go and served as JSON, so no map tiles are needed), coloured by density
// scale, with witness links; hotspot pages with witnesses, reasons and a
// rewards chart; epoch pages; all refreshed by polling.
package explorer
