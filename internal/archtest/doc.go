// Package archtest enforces the project's dependency direction: its test loads
// the import graph of every package with `go list` and checks the rules of the
// design (no production package imports the sandboxes; workflows know no
// adapter, payment SDK or Temporal server; money is a leaf; ledger and cbec
// depend only on money; the sandboxes use no adapter or SDK; the client never
// links Temporal). The package holds no code of its own.
package archtest
