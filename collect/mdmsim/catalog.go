package mdmsim

// Static data the fleet generator draws from. Everything here is read-only;
// slices are indexed, never ranged over a map, so generation does not depend
// on map iteration order.

// catalogApp is one app of a platform catalogue. versions lists the versions
// seen in the fleet, oldest first; a device carries at most one of them.
type catalogApp struct {
	name      string
	publisher string
	versions  []string
	sizeMB    int64 // approximate install size, varied per version
	managed   bool  // deployed and managed by Intune
	percent   int   // chance (0-100) that a device carries the app
}

// iosCatalog are typical enterprise and consumer iOS apps. The four managed
// apps are the ones Intune deploys; Company Portal is on every device because
// it is how the device enrolled.
var iosCatalog = []catalogApp{
	{"Company Portal", "Microsoft Corporation", []string{"5.2509.0", "5.2511.1"}, 121, true, 100},
	{"Microsoft Outlook", "Microsoft Corporation", []string{"5.2540.0", "5.2544.1"}, 398, true, 90},
	{"Microsoft Teams", "Microsoft Corporation", []string{"7.31.0", "7.33.1"}, 412, true, 85},
	{"Microsoft Authenticator", "Microsoft Corporation", []string{"6.8.34", "6.8.36"}, 164, true, 80},
	{"Microsoft Edge: AI browser", "Microsoft Corporation", []string{"141.3537.71", "142.3595.53"}, 310, false, 45},
	{"Microsoft OneDrive", "Microsoft Corporation", []string{"16.40.2"}, 287, false, 50},
	{"Microsoft Word", "Microsoft Corporation", []string{"2.102"}, 356, false, 30},
	{"Microsoft Excel", "Microsoft Corporation", []string{"2.102"}, 371, false, 30},
	{"Google Chrome", "Google LLC", []string{"141.0.7390.96", "142.0.7444.77"}, 268, false, 40},
	{"WhatsApp Messenger", "WhatsApp Inc.", []string{"25.30.74", "25.32.77"}, 412, false, 70},
	{"Slack", "Slack Technologies, Inc.", []string{"25.10.10", "25.11.20"}, 233, false, 45},
	{"Zoom Workplace", "Zoom Video Communications, Inc.", []string{"6.6.5", "6.6.10"}, 198, false, 40},
	{"Google Maps", "Google LLC", []string{"25.43.0"}, 302, false, 45},
	{"Spotify: Music and Podcasts", "Spotify AB", []string{"9.0.88"}, 187, false, 40},
	{"Signal - Private Messenger", "Signal Messenger, LLC", []string{"7.80", "7.82"}, 166, false, 20},
	{"LinkedIn: Network & Job Finder", "LinkedIn Corporation", []string{"2025.10.28"}, 341, false, 35},
	{"Adobe Acrobat Reader: Edit PDF", "Adobe Inc.", []string{"25.10.0"}, 392, false, 25},
	{"Cisco Secure Client", "Cisco", []string{"5.1.11"}, 58, false, 20},
	{"Webex", "Cisco", []string{"45.10.0"}, 276, false, 15},
	{"Salesforce", "Salesforce.com, inc.", []string{"258.030"}, 154, false, 15},
	{"Uber - Request a ride", "Uber Technologies, Inc.", []string{"3.690.10000"}, 512, false, 30},
	{"Instagram", "Instagram, Inc.", []string{"404.0.0"}, 468, false, 35},
	{"Telegram Messenger", "Telegram FZ-LLC", []string{"12.1.1"}, 221, false, 15},
	{"1Password: Password Manager", "AgileBits Inc.", []string{"8.11.14"}, 133, false, 20},
}

// androidCatalog are typical Android apps. Intune's detectedApp carries no
// package name or signing hash, only displayName, version and publisher.
var androidCatalog = []catalogApp{
	{"Company Portal", "Microsoft Corporation", []string{"5.0.6798.0", "5.0.6823.0"}, 96, true, 100},
	{"Microsoft Outlook", "Microsoft Corporation", []string{"4.2541.1", "4.2543.0"}, 251, true, 90},
	{"Microsoft Teams", "Microsoft Corporation", []string{"1416/1.0.0.2025203401", "1416/1.0.0.2025213802"}, 305, true, 85},
	{"Microsoft Authenticator", "Microsoft Corporation", []string{"6.2510.6601", "6.2511.7201"}, 142, true, 80},
	{"Chrome", "Google LLC", []string{"141.0.7390.111", "142.0.7444.48"}, 310, false, 95},
	{"Android System WebView", "Google LLC", []string{"141.0.7390.111"}, 187, false, 95},
	{"Gmail", "Google LLC", []string{"2025.10.19.820345432.Release"}, 212, false, 90},
	{"Google Maps", "Google LLC", []string{"25.44.03.827468823"}, 264, false, 85},
	{"YouTube", "Google LLC", []string{"20.44.38"}, 239, false, 85},
	{"WhatsApp", "WhatsApp LLC", []string{"2.25.31.76", "2.25.32.71"}, 198, false, 65},
	{"Slack", "Slack Technologies Inc.", []string{"25.10.20.0"}, 143, false, 40},
	{"Zoom Workplace", "zoom.us", []string{"6.6.5.35016"}, 176, false, 35},
	{"Microsoft Edge: AI browser", "Microsoft Corporation", []string{"141.0.3537.99"}, 287, false, 35},
	{"Microsoft OneDrive", "Microsoft Corporation", []string{"7.38"}, 119, false, 45},
	{"Spotify: Music and Podcasts", "Spotify AB", []string{"9.0.92.575"}, 161, false, 35},
	{"Signal Private Messenger", "Signal Foundation", []string{"7.60.2"}, 152, false, 15},
	{"Telegram", "Telegram FZ-LLC", []string{"12.1.1"}, 134, false, 15},
	{"LinkedIn: Jobs & Business News", "LinkedIn", []string{"4.1.1130"}, 98, false, 25},
	{"Adobe Acrobat Reader: Edit PDF", "Adobe", []string{"25.9.1.41052"}, 233, false, 20},
	{"Cisco Secure Client-AnyConnect", "Cisco Systems, Inc.", []string{"5.1.11.388"}, 41, false, 20},
}

// Planted apps: each is found on exactly one device of the fleet and on no
// catalogue list above.
var (
	sileoApp = catalogApp{name: SileoAppName, publisher: "", versions: []string{"2.5.1"}, sizeMB: 31}
	rogueApp = catalogApp{name: RogueAppName, publisher: "", versions: []string{"1.0.3"}, sizeMB: 2}
	termux   = catalogApp{name: TermuxAppName, publisher: "Fredrik Fornwall", versions: []string{"0.118.3"}, sizeMB: 104}
)

type hwModel struct {
	manufacturer string
	model        string
	storageGB    []int64
	serialPrefix string
	serialLen    int
	minMajor     int // oldest OS major version the model runs (the one it shipped with)
}

var iosModels = []hwModel{
	{"Apple", "iPhone 17 Pro", []int64{256, 512}, "", 10, 26},
	{"Apple", "iPhone 17", []int64{256}, "", 10, 26},
	{"Apple", "iPhone Air", []int64{256}, "", 10, 26},
	{"Apple", "iPhone 16 Pro", []int64{128, 256}, "", 10, 18},
	{"Apple", "iPhone 16", []int64{128, 256}, "", 10, 18},
	{"Apple", "iPhone 16e", []int64{128}, "", 10, 18},
	{"Apple", "iPhone 15 Pro", []int64{128, 256}, "", 10, 17},
	{"Apple", "iPhone 15", []int64{128}, "", 10, 17},
	{"Apple", "iPhone 14", []int64{128}, "", 12, 0},
	{"Apple", "iPhone 13", []int64{128}, "", 12, 0},
	{"Apple", "iPhone SE (3rd generation)", []int64{64, 128}, "", 12, 0},
}

var iosVersions = []string{"26.1", "26.1", "26.0.1", "26.0.1", "18.7.2", "18.6.2", "17.7.10"}

var androidModels = []hwModel{
	{"samsung", "SM-S931B", []int64{128, 256}, "R5CY", 11, 15},
	{"samsung", "SM-S921B", []int64{128, 256}, "R5CX", 11, 0},
	{"samsung", "SM-A566B", []int64{128}, "R58Y", 11, 15},
	{"samsung", "SM-A556B", []int64{128}, "R58X", 11, 0},
	{"samsung", "SM-G991B", []int64{128}, "R5CR", 11, 0},
	{"Google", "Pixel 10", []int64{128, 256}, "5B1", 14, 16},
	{"Google", "Pixel 9", []int64{128, 256}, "4A2", 14, 14},
	{"Google", "Pixel 9a", []int64{128}, "4C1", 14, 15},
	{"Google", "Pixel 8a", []int64{128}, "3B2", 14, 0},
	{"motorola", "moto g85 5G", []int64{256}, "ZY22", 10, 0},
	{"Nokia", "Nokia G42 5G", []int64{128}, "PHN", 12, 0},
}

var androidVersions = []string{"16", "16", "15", "15", "14"}

var firstNames = []string{
	"Adele", "Alex", "Allan", "Bianca", "Christie", "Debra", "Diego", "Emily",
	"Enrico", "Grady", "Henrietta", "Isaiah", "Joni", "Johanna", "Lee", "Lidia",
	"Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep", "Raul", "Sofia",
	"Yuki", "Zrinka", "Amara", "Bruno", "Chen", "Dagny", "Farah", "Goran",
	"Hana", "Ines", "Jonas", "Kwame", "Leila", "Mateo", "Nadia", "Oren",
}

var lastNames = []string{
	"Vance", "Wilber", "Deyoung", "Kowalski", "Cline", "Berger", "Siciliani",
	"Braun", "Pernice", "Archie", "Cueto", "Langer", "Sherman", "Lauer",
	"Gonzalez", "Holloway", "Robbins", "Bowen", "Zbiral", "Gupta", "Fernandez",
	"Nakamura", "Okafor", "Lindqvist", "Haddad", "Novak", "Moreau", "Petrov",
	"Osei", "Tanaka", "Ibrahim", "Costa", "Jensen", "Kaur", "Reyes", "Schmidt",
}

var carriers = []string{"Verizon", "T-Mobile", "AT&T"}

var categories = []string{
	"Unknown category", "Unknown category", "Unknown category",
	"Sales", "Field Operations", "Executives", "Finance",
}
