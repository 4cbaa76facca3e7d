// Package amapi collects from the Android Management API: the devices of
// one enterprise with their security posture, settings, software and
// hardware, and every application report (package, version, install
// source, APK sha256, signing certificates) with its recent events.
//
// It authenticates as a service account with the OAuth 2.0 JWT bearer
// grant (RFC 7523): an RS256 assertion signed with the account's key, sent
// to the key's token_uri. Every response is kept byte for byte; token
// responses are logged without their body.
package amapi
