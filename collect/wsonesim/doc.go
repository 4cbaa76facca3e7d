// Package wsonesim simulates the Workspace ONE UEM (Omnissa, formerly
// VMware AirWatch) REST API that the wsone source reads, over loopback
// (127.0.0.1), from a fleet generated deterministically from a seed.
//
// # What it owns
//
//   - The fleet generator ([NewFleet]): a mix of iPhones, an occasional
//     iPad and Android phones in the PascalCase shape of device search
//     (Id{Value}, Uuid, Udid, SerialNumber, Imei, Platform, Model,
//     OperatingSystem, Ownership C/E/S, LastSeen, EnrollmentStatus,
//     ComplianceStatus, CompromisedStatus, IsSupervised, …), zone-less UTC
//     timestamps with and without milliseconds, and per-device apps. Planted
//     cases ([Scenarios]): a compromised iPhone, an ad-hoc-signed app on a
//     supervised iPhone, an app from an alternative marketplace, a device
//     never seen (LastSeen "0001-01-01T00:00:00"), an employee-owned
//     Android phone listing managed apps only, a stale phone, and benign
//     look-alikes (an in-house enterprise app and a TestFlight beta on a
//     supervised iPhone, a non-compliant but not compromised iPhone, App
//     Store apps naming com.apple.AppStore as their distributor).
//   - Authentication both ways the API offers: OAuth 2.0 client
//     credentials at [TokenPath] (opaque bearer tokens that expire), and
//     HTTP Basic with the aw-tenant-code header (a wrong code is 403
//     errorCode 1013 whose message repeats the code, as in the error
//     bodies published from real tenants).
//   - The two endpoints the source reads (see Endpoints), with version
//     negotiation, paging, empty-body "no results" and Workspace ONE's
//     error bodies.
//   - Throttling (Options.RateLimit): 429 with Retry-After and
//     X-RateLimit-Limit/-Remaining/-Reset.
//   - Fault injection: random faults per request ([Options].Faults,
//     [ParseFaults]) and faults forced on chosen paths ([Server.Inject]):
//     401, 403, 429 with and without Retry-After, 5xx, slow, truncated and
//     malformed bodies, reset connections, and hostile paging (an envelope
//     whose Page points back, a server ignoring the page asked, an empty
//     answer in the middle of a listing). See [Fault].
//   - A log of requests ([Server.Requests], with the version served, the
//     fault and the injection pattern behind it) and of requests for
//     paths or methods it does not serve ([Server.Unexpected]).
//
// # Endpoints
//
// GET only; the version is asked with Accept: application/json;version=N
// (none means 1), and a version not served is 406.
//
//	/API/mdm/devices/search       versions 1 and 2 (Options.SearchVersions)
//	    page (0-based), pagesize (at most Options.MaxPageSize), orderby=deviceid, sortorder,
//	    user, platform, ownership, model
//	    → {"Devices":[…],"Page":P,"PageSize":S,"Total":N}; no match → 204, no body
//	/API/mdm/devices/{id}/apps    version 1 (Options.AppsVersions); page, pagesize
//	    → {"DeviceApps":[…],"Page":P,"PageSize":S,"Total":N}; no apps → 200, empty body
//	POST /connect/token           client_credentials → {"access_token","expires_in","token_type":"Bearer"}
//
// Errors are Workspace ONE's {"errorCode":N,"message":"…","activityId":"…"}:
// 1013 (tenant code) and 5061 (device not found) are the API's own codes;
// for every other failure the simulator sends the HTTP status as errorCode.
//
// What is not the API's own: Workspace ONE documents neither whether nor
// where it reports the Apple InstalledApplicationList keys that tell how
// an iOS app was installed (AdHocCodeSigned, DistributorIdentifier,
// AppStoreVendable, BetaApp, IsValidated); the simulator adds them to
// each iOS app under Apple's names. The apps envelope itself is the one
// community clients read, not a published schema.
//
// # Test hooks
//
//	s := wsonesim.New(wsonesim.Options{Devices: 12})
//	srv := httptest.NewServer(s.Handler())             // or wsonesim.Start(opts)
//	s.Inject("/API/mdm/devices/search$", wsonesim.Fault429, 1)
//	s.Inject("/API/mdm/devices/*/apps", wsonesim.Fault403, -1)
//	s.Inject(wsonesim.TokenPath, wsonesim.Fault401, 1)
//	... run the client ...
//	s.Requests(); s.Unexpected(); s.Secrets()
//
// # What it must not do
//
// It exists to test the wsone client, so it must not import it nor share
// code with it: it uses the standard library only. It keeps no global
// mutable state and listens only on loopback.
package wsonesim
