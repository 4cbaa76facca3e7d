// Package jamfsim simulates the part of a Jamf Pro server that custos
// reads, over loopback (127.0.0.1), from a fleet of iPhones and iPads
// generated deterministically from a seed.
//
// # What it owns
//
//   - Authentication: the OAuth client-credentials grant
//     (POST /api/oauth/token) and the user bearer-token flow
//     (POST /api/v1/auth/token with HTTP Basic, POST /api/v1/auth/keep-alive
//     which replaces the token and invalidates the old one,
//     POST /api/v1/auth/invalidate-token, GET /api/v1/auth), with token
//     expiry read from Options.Clock.
//   - The Jamf Pro API: GET /api/v2/mobile-devices (page, page-size, sort
//     → totalCount and results), GET /api/v2/mobile-devices/{id} and
//     GET /api/v2/mobile-devices/{id}/detail, with Jamf's error body
//     {"httpStatus": N, "errors": [{"code", "field", "description", "id"}]}.
//   - The Classic API: GET /JSSResource/mobiledevicehistory/id/{id}, whole
//     or /subset/A&B, as XML by default and as JSON with
//     Accept: application/json, and its HTML error pages.
//   - The fleet ([NewFleet]) with the planted cases listed in [Scenarios]:
//     an ad-hoc-signed app on a supervised iPhone, a jailbreak flag, an app
//     from an alternative marketplace, and benign look-alikes (a TestFlight
//     beta on a developer's phone, an in-house enterprise app on every
//     company device), plus a personally owned User Enrollment iPhone and a
//     stale iPad.
//   - Fault injection ([Server.Inject], and random faults drawn from a
//     seeded PRNG, [Options].Faults, parsed by [ParseFaults]), a request log
//     with timings, the most requests it had in flight at once
//     ([Server.MaxInFlight]), and hooks that change the fleet during a
//     listing ([Server.Enroll], [Server.Remove]).
//
// The application items of a device's detail carry, besides the fields
// Jamf documents (identifier, name, version, shortVersion,
// managementStatus, validationStatus, bundleSize, dynamicSize), the iOS
// InstalledApplicationList signals in camelCase: adHocCodeSigned,
// appStoreVendable, betaApp, deviceBasedVpp, distributorIdentifier and
// externalVersionIdentifier. Whether and how a real Jamf Pro server
// exposes them there is not confirmed (mdm-apis.md §3.2, §6, §9); a client
// must cope with their absence.
//
// # Test hooks
//
//	s := jamfsim.New(jamfsim.Options{Devices: 20})
//	srv := httptest.NewServer(s.Handler())       // or jamfsim.Start(opts)
//	s.Inject("/api/v2/mobile-devices$", jamfsim.Fault429, 1)   // the listing alone
//	s.Inject("/api/v2/mobile-devices/7", jamfsim.Fault403, -1)  // device 7's detail
//	s.Inject("/JSSResource/mobiledevicehistory/id/7", jamfsim.FaultTruncate, 1)
//	... run the client ...
//	s.Requests(); s.Unexpected(); s.MaxInFlight(); s.Auth()
//
// # What it must not do
//
// It exists to test the clients of these APIs, so it must not import
// collect/jamf or any other package of this repository, nor share code
// with them: a bug shared by client and simulator would go unnoticed. It
// keeps no global mutable state, listens only on loopback and points
// nothing at another host.
package jamfsim
