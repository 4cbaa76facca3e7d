package jamfvocab

import "testing"

func TestPlatform(t *testing.T) {
	for _, tc := range []struct{ typ, model, os, want string }{
		{"ios", "iPhone 14 iPhone14,7", "17.5.1", "ios"},
		{"ios", "iPad Air (5th generation) iPad13,16", "17.5", "ipados"},
		{"ios", "iPad mini 4 iPad5,1", "12.5.7", "ios"},
		{"iOS", "iPad Air 2", " 12.5.7", "ios"},
		{"ios", " iPad13,16", "", "ipados"},
		{"", "IPAD PRO", "17", "ipados"},
		{"tvos", "Apple TV 4K", "17.5", "tvos"},
		{" tvOS ", "", "", "tvos"},
		{"", "iPod touch", "15.7", "ios"},
		{"iOS", "", "", "ios"},
		{"unknown", "", "", "unknown"},
		{"", "Pixel 8", "14", "unknown"},
	} {
		if got := Platform(tc.typ, tc.model, tc.os); got != tc.want {
			t.Errorf("Platform(%q, %q, %q) = %q, want %q", tc.typ, tc.model, tc.os, got, tc.want)
		}
	}
}

func TestOwnership(t *testing.T) {
	for s, want := range map[string]string{
		"Institutional": "corporate", "AccountDrivenDeviceEnrollment": "corporate", "Account Driven Device Enrollment": "corporate",
		"Personal": "personal", "PersonalDeviceProfile": "personal", "Personal Device Profile": "personal", "UserEnrollment": "personal",
		"User Enrollment": "personal", "AccountDrivenUserEnrollment": "personal", "": "unknown", "Shared": "unknown",
	} {
		if got := Ownership(s); got != want {
			t.Errorf("Ownership(%q) = %q, want %q", s, got, want)
		}
	}
}
