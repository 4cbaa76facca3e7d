// Package layering holds no code: its test enforces the import rules of
// DESIGN §2 ("must not import") so that layering is a build failure, not a
// review comment.
package layering
