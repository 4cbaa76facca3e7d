package collect

import "strings"

// Install sources beyond store, system, sideloaded, enterprise and
// unknown: an app from an alternative marketplace (iOS 17.4 and later, in
// the EU) and a TestFlight beta.
const (
	InstallMarketplace = "marketplace"
	InstallBeta        = "beta"
)

// Apple's own distributors, as InstalledApplicationList's
// DistributorIdentifier names them.
const (
	AppleAppStore   = "com.apple.AppStore"
	AppleTestFlight = "com.apple.TestFlight"
)

// AppleAppSignals are the keys of an iOS InstalledApplicationList item
// that tell how an app was installed (reference §6). A nil flag was not
// reported. Every iOS source (Jamf Pro, Workspace ONE, their exports)
// judges them with InstallSource, so that the same app is judged the same
// whichever console reported it.
type AppleAppSignals struct {
	AdHocCodeSigned  *bool
	Validated        *bool // IsValidated, Jamf's validationStatus
	Beta             *bool // BetaApp
	AppStoreVendable *bool
	Distributor      string // DistributorIdentifier
}

// InstallSource judges the signals, strongest first: an app signed ad hoc
// (for a few devices, outside any store) or whose signature iOS does not
// validate (a revoked or missing certificate) was sideloaded; a beta, or
// TestFlight as distributor, is a beta; the App Store as distributor is
// the store; another distributor of Apple's says nothing more; any other
// distributor is an alternative marketplace; then an app the App Store
// can vend is a store app, and one it cannot was signed for in-house
// (enterprise) distribution. "" when the signals do not tell: the caller
// may fall back on what its console says, else "unknown".
func (s AppleAppSignals) InstallSource() string {
	is := func(p *bool, v bool) bool { return p != nil && *p == v }
	dist := strings.TrimSpace(s.Distributor)
	apple := strings.HasPrefix(strings.ToLower(dist), "com.apple.")
	switch {
	case is(s.AdHocCodeSigned, true), is(s.Validated, false):
		return "sideloaded"
	case is(s.Beta, true), strings.EqualFold(dist, AppleTestFlight):
		return InstallBeta
	case strings.EqualFold(dist, AppleAppStore):
		return "store"
	case dist != "" && !apple:
		return InstallMarketplace
	case is(s.AppStoreVendable, true):
		return "store"
	case is(s.AppStoreVendable, false):
		return "enterprise"
	}
	return ""
}
