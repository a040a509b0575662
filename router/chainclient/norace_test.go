//go:build !race

package chainclient

const raceEnabled = false
