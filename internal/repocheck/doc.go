// Package repocheck holds tests about the repository itself: every package
// is documented, the gateway binaries stay free of cgo, CI runs the README's
// test command.
package repocheck
