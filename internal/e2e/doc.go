// Package e2e holds the end-to-end tests: the whole stack (internal/devstack)
// on the package's embedded Temporal server, driven through the store API
// with the Go client as a store backend would, with buyers paying through the
// sandboxes' scripted buyers. They play the demo's scenarios and check the
// notification endpoints, merchant isolation and that no buyer identity is
// stored in clear in the workflow histories.
//
// The package has no code of its own; linking the Temporal server into a
// test binary costs about a minute, so every end-to-end test lives here.
package e2e
