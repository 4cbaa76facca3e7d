// Package collect owns what every evidence source has in common: the record
// model (Device, App, Event, Gap and the RawRef that ties each record to the
// exact bytes an MDM sent), the Source contract, and the staging writer that
// lays an acquisition out on disk (raw responses, the request log, NDJSON
// records and the provenance document).
//
// It must not import preserve, report, playbooks, any vendor package under
// collect/, or urfave/cli, and it never prints: sources report through the
// Sink and through progress callbacks.
package collect
