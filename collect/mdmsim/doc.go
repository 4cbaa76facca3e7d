// Package mdmsim is a faithful simulator of the Microsoft Graph (Intune) API
// surface that custos reads, served over loopback (127.0.0.1) from a fleet
// generated deterministically from a seed.
//
// # What it owns
//
//   - The fleet generator ([NewFleet], [NewFleetApps]): managed iOS and
//     Android devices with every v1.0 managedDevice property, about 80
//     detected apps each, compliance policy states, an admin audit log, and
//     the planted scenarios listed in [Scenarios]. Fleets of any size up to
//     [MaxDevices] are generated lazily: device k is rebuilt from (seed, k)
//     when asked for, and the fleet keeps only compact indexes (20,000
//     devices cost about 6 MiB and 0.2 s to build). [Fleet.Devices] is
//     filled for fleets of at most [MaterializeLimit] devices; use
//     [Fleet.Len], [Fleet.DeviceAt], [Fleet.All] and [Fleet.Index] for any
//     size.
//   - The Entra ID v2 token endpoint (client-credentials grant) with
//     AADSTS-shaped error bodies.
//   - Graph, under /v1.0 and /beta, with Graph's envelope (@odata.context,
//     @odata.nextLink, value), $select, $top, opaque HMAC-protected
//     $skiptoken paging, the documented $filter quirk (unsupported terms
//     are silently ignored), and Graph / Intune error bodies and headers,
//     for the endpoints listed below.
//   - Throttling like Intune ([Options].RateLimit, RateBurst and a tighter
//     bucket for per-device detectedApps): 429 TooManyRequests with
//     Intune's nested-JSON message and Retry-After, omitted for the
//     fraction Options.RetryAfterOmit says.
//   - Fault injection: random faults drawn per request from a seeded PRNG
//     ([Options].Faults, parsed by [ParseFaults] from specs such as
//     "429=0.05,503=0.02,slow=0.01,truncate=0.005"), and faults forced on
//     chosen paths ([Server.Inject]). See [Fault] for what each one does.
//     The token endpoint gets faults only when asked (Faults.Token or an
//     injection on its path).
//   - A log of the requests served and counters, for tests.
//
// # Endpoints
//
// Paths are relative to /v1.0 or /beta; every collection pages and takes
// $select and $top.
//
//	GET  deviceManagement/managedDevices                    $filter: deviceName, serialNumber, operatingSystem eq; lastSyncDateTime ge, gt, le, lt, eq
//	GET  deviceManagement/managedDevices/{id}
//	GET  deviceManagement/managedDevices/{id}/detectedApps  beta only
//	GET  deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates
//	GET  deviceManagement/detectedApps                      tenant-wide, with deviceCount, platform, publisher
//	GET  deviceManagement/detectedApps/{id}
//	GET  deviceManagement/detectedApps/{id}/managedDevices
//	GET  deviceManagement/auditEvents                       $filter: activityDateTime ge, gt, le, lt, eq; category, activityType, activityResult eq
//	GET  deviceManagement/auditEvents/{id}
//	POST $batch                                             at most MaxBatch (20) requests, per-item status
//
// Device actions (wipe, retire, remoteLock …) are not simulated: a POST to
// one is answered 400 and recorded as unexpected, since a collector must
// never change the devices it examines.
//
// # Test hooks, for conformance suites
//
//	s := mdmsim.New(mdmsim.Options{Devices: 30, AppsPerDevice: 12})
//	srv := httptest.NewServer(s.Handler())       // or mdmsim.Start(opts)
//	s.Inject("/v1.0/deviceManagement/managedDevices$", mdmsim.Fault429, 2)  // the next two list pages ("$": not the paths below)
//	s.Inject("/v1.0/deviceManagement/managedDevices$", mdmsim.FaultRepeatLink, 1)
//	s.Inject("/beta/deviceManagement/managedDevices/*/detectedApps", mdmsim.Fault403, -1) // every device, until ClearInjections
//	s.Inject("/"+mdmsim.DefaultTenant+"/oauth2", mdmsim.Fault401, 1)      // the token endpoint
//	... run the client ...
//	s.Requests()    // every request answered (with its status, fault and $batch items)
//	s.Unexpected()  // requests for paths, versions or methods not simulated: want none
//	s.Stats()       // requests, $batch items, 429s, throttled, faults by kind, unexpected
//
// Requests are logged before their response is sent, so a client that has
// its answer finds the request in the log. Determinism: the fleet depends
// only on (Seed, Devices, Now, AppsPerDevice); random faults and Retry-After
// omissions depend on Seed and on the order of requests, so a sequential
// client meets the same faults on every run. The rate limiters read
// Options.Clock; a test that sets a fixed clock controls refills exactly.
//
// Unknown paths are answered as Graph answers them (400 BadRequest
// "Resource not found for the segment …", or "Invalid version"), not 404,
// and are recorded in Unexpected. An unknown device, app or audit event id
// on a known path is Intune's 404 ResourceNotFound.
//
// # What it must not do
//
// It is used by `custos demo`, `custos sim` and tests to exercise real
// Graph clients over loopback. Because it exists to test those clients, it
// must not import any other package of this repository — in particular not
// the custos client packages under collect/ — and it must not share code
// with them: a bug shared by the client and the simulator would go
// unnoticed. It uses only the standard library, keeps no global mutable
// state (its tables are built once and read-only), listens only on
// loopback, and never points a client at a host beyond 127.0.0.0/8 unless
// a test gives it Options.ForeignURL.
package mdmsim
