// Package mdmsim is a faithful simulator of the Microsoft Graph (Intune) API
// surface that custos reads, served over loopback (127.0.0.1) from a fleet
// generated deterministically from a seed.
//
// It owns:
//
//   - the fleet generator ([NewFleet]): managed iOS and Android devices with
//     every v1.0 managedDevice property, their detected apps, and the planted
//     scenarios listed in [Scenarios];
//   - the Entra ID v2 token endpoint (client-credentials grant) with
//     AADSTS-shaped error bodies;
//   - the Graph endpoints under /v1.0 and /beta for managedDevices and
//     detectedApps, with Graph's envelope (@odata.context, @odata.nextLink,
//     value), $select projection, $top, opaque HMAC-protected $skiptoken
//     paging, the documented $filter quirk (unsupported terms are silently
//     ignored), and Graph / Intune error bodies and headers;
//   - a log of the requests served, so tests can assert request counts.
//
// It is used by `custos demo` and by tests to exercise a real Graph client
// over loopback. Because it exists to test those clients, it must not import
// any other package of this repository — in particular not the custos client
// packages under collect/ — and it must not share code with them: a bug
// shared by the client and the simulator would go unnoticed. It uses only the
// standard library and keeps no global mutable state.
package mdmsim
