// Package googlesim simulates the Google services the amapi source talks
// to, on one listener: the OAuth 2.0 token endpoint (the service-account
// JWT bearer grant, RS256 signatures checked against the simulated
// account's key), and the Android Management API's devices.list and
// policies.get with the real JSON shapes and enum values (field names
// checked against the API's discovery document in the tests), Google's
// error bodies, partial responses (fields=) and pageToken paging.
//
// The fleet is generated from a seed and holds planted cases for incident
// response: an ADB-enabled developer phone, a device whose integrity check
// says it is compromised, a sideloaded app whose package name and APK hash
// are indicators from Amnesty International's NoviSpy bundle, a device with
// unknown sources enabled, an outdated patch level, a personally owned work
// profile, and a device under a policy that reports neither apps, software
// nor settings.
//
// The simulator must not share code with the clients it tests.
package googlesim
