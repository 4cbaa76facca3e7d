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

// Published are the sha256 digests of the bundles in this directory: a
// bundle loaded from anywhere with one of these digests is one of them and
// carries Attribution.
var Published = map[string]string{
	"02bfceea5a2c32b159f11569736448398e35e7f0fc7d137385b943ec60697360": "2024-12-16_serbia_novispy.stix2",
	"6fe92193d9e17c21a16eb7abe93a418a2e40c0176dcb56fb30539f84136391bb": "2021-12-16_cytrox.stix2",
	"df1bcaa78abc7b85781b1ebc2daa3cc225371e2024d9ef96e84f80f927256586": "2021-07-18_nso.stix2",
	"28da50042006281d56c17dff08f06bba3ba310bc18cc23040780850131b2efdb": "2023-03-29_android_campaign.stix2",
}
