// Package config loads a binary's typed configuration from, in order of
// precedence, command-line flags, environment variables and a TOML file, on
// top of the defaults declared with the flags.
//
// Every flag --some-name has the environment variable PREFIX_SOME_NAME and the
// TOML key some_name (or some-name), so one list, printed by --help, documents
// all three.
package config
