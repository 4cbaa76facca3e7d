package wsonevocab

import (
	"testing"

	"github.com/custos-ir/custos/collect"
)

func TestInstallSource(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		s    collect.AppleAppSignals
		typ  string
		want string
	}{
		{collect.AppleAppSignals{AdHocCodeSigned: &yes}, "Public", "sideloaded"}, // Apple's signals speak first
		{collect.AppleAppSignals{Distributor: collect.AppleTestFlight}, "Internal", collect.InstallBeta},
		{collect.AppleAppSignals{AppStoreVendable: &no}, "Public", "enterprise"},
		{collect.AppleAppSignals{}, "Internal", "enterprise"},
		{collect.AppleAppSignals{}, "ENTERPRISE", "enterprise"},
		{collect.AppleAppSignals{}, "System", "system"},
		{collect.AppleAppSignals{}, " public ", "store"},
		{collect.AppleAppSignals{}, "Purchased", "unknown"},
		{collect.AppleAppSignals{}, "", "unknown"},
	} {
		if got := InstallSource(c.s, c.typ); got != c.want {
			t.Errorf("InstallSource(%+v, %q) = %q, want %q", c.s, c.typ, got, c.want)
		}
	}
}

func TestCompromised(t *testing.T) {
	for s, want := range map[string]string{
		"Compromised": "true", "COMPROMISED": "true", "Not Compromised": "false", "NotCompromised": "false",
		"NOT_COMPROMISED": "false", "not-compromised": "false", "true": "", "Unknown": "", "": "", "Compromised?!": "true",
	} {
		if got := Compromised(s); got != want {
			t.Errorf("Compromised(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestNorm(t *testing.T) {
	for s, want := range map[string]string{"NonCompliant": "noncompliant", "NON_COMPLIANT": "noncompliant", "Non-Compliant 2": "noncompliant2", "Ünïcode": "ncode"} {
		if got := Norm(s); got != want {
			t.Errorf("Norm(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestCompliance(t *testing.T) {
	for s, want := range map[string]string{
		"Compliant": "compliant", "NonCompliant": "noncompliant", "Non-Compliant": "noncompliant", "NOT_COMPLIANT": "noncompliant",
		"": "unknown", "NotAvailable": "unknown", "N/A": "unknown", "Unknown": "unknown",
		"PendingComplianceCheck": "pendingcompliancecheck",
	} {
		if got := Compliance(s); got != want {
			t.Errorf("Compliance(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestPatchDate(t *testing.T) {
	for _, c := range []struct {
		in, want string
		iso      bool
	}{
		{"2024-05-01T00:00:00", "2024-05-01", true},
		{"2024-05-01T23:30:00-05:00", "2024-05-01", true},
		{"2024-05-01T23:30:00.123+0530", "2024-05-01", true},
		{" 2024-05-01 ", "2024-05-01", true},
		{"2024-05-01 10:00 UTC", "2024-05-01", true},
		{"0001-01-01T00:00:00", "", true},
		{"2024-02-30", "2024-02-30", true},
		{"5/1/2024", "", false},
		{"June 2024", "", false},
		{"", "", false},
	} {
		if got, iso := PatchDate(c.in); got != c.want || iso != c.iso {
			t.Errorf("PatchDate(%q) = %q, %v; want %q, %v", c.in, got, iso, c.want, c.iso)
		}
	}
}
