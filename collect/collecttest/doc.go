// Package collecttest is the conformance suite every evidence source must
// pass (CONVENTIONS, shape rule 2): it pages through a simulated tenant,
// meets throttling, refused credentials, failing and broken responses,
// cancellation and hostile paging links, and checks what lands on disk
// through collect.Run on a real collect.Staging: every device collected
// once, every response kept with the digest the records cite, one
// request-log line per HTTP exchange, gaps instead of silence, typed auth
// errors, and no secret anywhere under the case directory.
//
// A source takes part by implementing Harness (and Sim) over its own
// simulator in its package's tests and calling Run. The suite knows no
// vendor: it speaks of targets (the authentication step, the device
// listing, one device's endpoints) and faults (Fault), and the harness
// translates them for its API.
//
// It is imported by tests only. It must not import any source package or
// simulator (collect/intune, collect/mdmsim, ...), and it never reaches
// beyond 127.0.0.1: the HTTP client it hands to sources refuses to dial
// any other address.
package collecttest
