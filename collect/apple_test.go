package collect

import "testing"

func TestAppleInstallSource(t *testing.T) {
	yes, no := new(bool), new(bool)
	*yes = true
	for _, c := range []struct {
		s    AppleAppSignals
		want string
	}{
		{AppleAppSignals{AdHocCodeSigned: yes, Validated: yes, AppStoreVendable: yes, Distributor: AppleAppStore}, "sideloaded"},
		{AppleAppSignals{Validated: no, Distributor: AppleAppStore}, "sideloaded"},
		{AppleAppSignals{AdHocCodeSigned: no, Validated: yes, Beta: yes}, InstallBeta},
		{AppleAppSignals{Distributor: "com.apple.testflight"}, InstallBeta},
		{AppleAppSignals{Distributor: " com.apple.AppStore "}, "store"},
		{AppleAppSignals{Distributor: "eu.example.altstore", AppStoreVendable: no}, InstallMarketplace},
		{AppleAppSignals{Distributor: "com.apple.Other"}, ""},
		{AppleAppSignals{Distributor: "com.apple.Other", AppStoreVendable: no}, "enterprise"},
		{AppleAppSignals{AppStoreVendable: yes}, "store"},
		{AppleAppSignals{AppStoreVendable: no, Validated: yes}, "enterprise"},
		{AppleAppSignals{Beta: no, AdHocCodeSigned: no, Validated: yes}, ""},
		{AppleAppSignals{}, ""},
	} {
		if got := c.s.InstallSource(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}
