// Command gentree writes a deterministic, synthetic custos acquisition of a
// chosen size into a case directory, for the seal and verify benchmarks in
// bench/ (see bench/seal.sh and docs/performance.md).
//
//	gentree -case DIR [-case-id ID] [-acquisition ID] -size 2GiB [-seed 1]
//
// It creates DIR/case.json when DIR is not a case yet and writes
// DIR/staging/<acquisition-id>/ with the layout 'custos collect' produces
// for Intune: raw/intune/NNNNNN.json managedDevices pages (100 KiB to 4 MiB
// each), raw/intune/requests.ndjson, records/{devices,apps,events,gaps}.ndjson,
// about 10 % of the bytes as incompressible raw/intune/attachments/*.bin, and
// last provenance/acquisition.json, so 'custos seal' accepts the result. The
// acquisition id goes to stdout, a summary to stderr.
//
// The same -seed and -size give the same bytes: every file is drawn from its
// own seeded PRNG stream, so files can be written concurrently and the output
// depends neither on scheduling nor on the clock. The values are varied
// (GUIDs, serials, timestamps, log messages drawn from templates) so the data
// compresses roughly like a real acquisition rather than like repeated text.
//
// gentree uses the standard library only and is not part of custos: it never
// writes outside DIR and refuses to overwrite an existing staging directory.
package main
