// Command firmware-bridge is a Hexproof binary; see README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--help" || os.Args[1] == "-h" || os.Args[1] == "help") {
		fmt.Println("usage: firmware-bridge [flags]\n\nfirmware-bridge is being built; see README.md for its status.")
		return
	}
	fmt.Fprintln(os.Stderr, "firmware-bridge: not built yet; see README.md")
	os.Exit(2)
}
