// Package intune collects device state and app inventory from Microsoft
// Intune through Microsoft Graph: an app-only client-credentials token from
// Entra ID, managedDevices (v1.0) with $select, and per-device detectedApps
// (beta). Every response body is preserved verbatim through the collect.Sink
// before it is parsed, and every record points back to it.
//
// It must not import other source packages, preserve, playbooks or report.
package intune
