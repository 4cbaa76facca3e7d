// Package jamfvocab reads Jamf Pro's vocabulary into custos's record
// model: the judgements the live source (collect/jamf) and the import of
// Jamf exports (collect/imports) must make alike, so that a device is
// recorded the same whichever way it reached the responder. Sources do
// not import each other; both import this.
package jamfvocab

import (
	"strconv"
	"strings"
)

// Platform names the OS of a Jamf mobile device from its type ("iOS",
// "tvOS", …), its model (name and identifier, in any case) and its OS
// version: iPadOS for an iPad on 13 or later (or of unknown version), iOS
// for an iPhone or iPod, or an iPad before iPadOS, or a device whose
// type is iOS; the type for other Apple devices; else "unknown".
func Platform(typ, model, osVersion string) string {
	t := strings.ToLower(strings.TrimSpace(typ))
	switch t {
	case "tvos", "watchos", "visionos":
		return t
	}
	m := strings.ToLower(model)
	major, _, _ := strings.Cut(strings.TrimSpace(osVersion), ".")
	switch n, err := strconv.Atoi(major); {
	case strings.Contains(m, "ipad"):
		if err == nil && n < 13 {
			return "ios"
		}
		return "ipados"
	case strings.Contains(m, "iphone"), strings.Contains(m, "ipod"), t == "ios":
		return "ios"
	}
	return "unknown"
}

// Ownership maps deviceOwnershipLevel (the inventory's
// deviceOwnershipType, an export's "Device Ownership Type"), in any case
// and spacing: Institutional and Account Driven Device Enrollment are the
// organisation's; Personal, Personal Device Profile, User Enrollment and
// Account Driven User Enrollment the user's.
func Ownership(s string) string {
	switch strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, s) {
	case "institutional", "accountdrivendeviceenrollment":
		return "corporate"
	case "personal", "personaldeviceprofile", "userenrollment", "accountdrivenuserenrollment":
		return "personal"
	}
	return "unknown"
}
