// Package preserve owns the evidence: the case directory, the archive
// format (a BagIt 1.0 bag in a reproducible tar.zst), OpenSSH signatures
// (SSHSIG) and allowed_signers trust anchors, the signed hash-chained
// custody log, and Verify.
//
// Every archive byte goes through one writer (Seal) that hashes as it
// writes and renames into place only when complete; Verify reads an archive
// in one streaming pass without extracting it.
//
// It must not import net/http, source packages under collect/, playbooks
// or report.
package preserve
