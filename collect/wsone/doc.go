// Package wsone collects device state and app inventory from Workspace ONE
// UEM (Omnissa, formerly VMware AirWatch) through its REST API: the device
// search (GET /API/mdm/devices/search, paged by page number in a pinned
// order) and each device's apps (GET /API/mdm/devices/{id}/apps).
//
// It authenticates with an OAuth 2.0 client (client credentials at the
// regional token service, SaaS) or with a console account over HTTP Basic
// plus the tenant's REST API key in aw-tenant-code. Every request asks for
// an API version in its Accept header (application/json;version=N),
// negotiated per endpoint: the newest version the source reads first, an
// older one after a 406. Every response body is preserved through the
// collect.Sink before it is parsed, with the version asked noted in the
// request log, and every record points back to it; a body that repeats a
// credential (Workspace ONE's 403 for a wrong tenant code quotes the code)
// is stored with the credential replaced, and the request log says so.
//
// It must not import other source packages, the simulator, preserve,
// playbooks or report.
package wsone
