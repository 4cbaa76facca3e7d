// Package jamf collects device state, app inventory and the management
// history of iPhones and iPads from a Jamf Pro server: an OAuth
// client-credentials token from an API client (or a user's bearer token,
// renewed by keep-alive and invalidated at the end), the paged listing
// /api/v2/mobile-devices, each device's /api/v2/mobile-devices/{id}/detail
// (security section, applications with their iOS install signals) and the
// Classic API's /JSSResource/mobiledevicehistory (MDM commands and
// audits). At most five requests are in flight, as Jamf recommends. Every
// response body is preserved verbatim through the collect.Sink before it
// is parsed, and every record points back to it.
//
// It must not import other source packages, their simulators, preserve,
// playbooks or report.
package jamf
