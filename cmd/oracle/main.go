// Command oracle is a Hexproof binary; see README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--help" || os.Args[1] == "-h" || os.Args[1] == "help") {
		fmt.Println("usage: oracle [flags]\n\noracle is being built; see README.md for its status.")
		return
	}
	fmt.Fprintln(os.Stderr, "oracle: not built yet; see README.md")
	os.Exit(2)
}
