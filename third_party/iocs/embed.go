// Package iocdata holds Amnesty International's published indicator
// bundles (CC-BY 2.0; see README.md) and embeds the one the demo uses.
package iocdata

import "embed"

// Demo is the NoviSpy bundle, the indicator set of custos demo: its
// simulated Android fleet plants an app matching it.
//
//go:embed 2024-12-16_serbia_novispy.stix2
var Demo embed.FS

// DemoBundle is the file name of the bundle in Demo.
const DemoBundle = "2024-12-16_serbia_novispy.stix2"

// Attribution must accompany these indicators wherever they are shown.
const Attribution = "Indicators: Amnesty International Security Lab, CC-BY 2.0"
