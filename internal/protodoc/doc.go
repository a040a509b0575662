// Package protodoc renders a buf image (a FileDescriptorSet with source
// info) as Markdown: every service, message, field and enum with the
// comments written in the .proto files. docs/wire.md is generated with it
// (`make proto`), and `make test` checks that it is current.
package protodoc
