package mdmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
)

func deviceJSON(t *testing.T, d *Device) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A lazily generated device is the same every time it is built, in every
// fleet built from the same arguments, and equals what a materialised
// fleet holds.
func TestLazyDevicesDeterministic(t *testing.T) {
	n := MaterializeLimit + 300
	a, b := NewFleet(11, n, fixedNow), NewFleet(11, n, fixedNow)
	if a.Devices != nil {
		t.Fatalf("a fleet of %d devices was materialised", n)
	}
	for _, i := range []int{0, 1, 17, n / 2, n - 1, a.PlantedIndex(ScenarioRareAppAndroid)} {
		first := deviceJSON(t, a.DeviceAt(i))
		if !bytes.Equal(first, deviceJSON(t, a.DeviceAt(i))) || !bytes.Equal(first, deviceJSON(t, b.DeviceAt(i))) {
			t.Fatalf("device %d differs between builds", i)
		}
		props := *a.DeviceAt(i)
		props.Apps = nil
		if !bytes.Equal(deviceJSON(t, &props), deviceJSON(t, a.deviceProps(i))) {
			t.Errorf("device %d: properties served differ from the device", i)
		}
	}

	m := NewFleet(11, MaterializeLimit, fixedNow)
	if len(m.Devices) != MaterializeLimit {
		t.Fatalf("fleet of %d not materialised", MaterializeLimit)
	}
	for _, i := range []int{0, 5, 499, MaterializeLimit - 1} {
		if !bytes.Equal(deviceJSON(t, m.Devices[i]), deviceJSON(t, m.build(i))) {
			t.Errorf("materialised device %d differs from a rebuilt one", i)
		}
	}
}

// Device k of the generator keeps its properties whatever the fleet size:
// the planted devices are devices 0 to 4.
func TestDeviceIndependentOfFleetSize(t *testing.T) {
	small, large := NewFleet(5, 12, fixedNow), NewFleet(5, MaterializeLimit+50, fixedNow)
	for _, name := range Scenarios {
		if small.Planted[name] != large.Planted[name] {
			t.Fatalf("%s: device %s in the small fleet, %s in the large one", name, small.Planted[name], large.Planted[name])
		}
		a, b := *small.Device(small.Planted[name]), *large.Device(large.Planted[name])
		a.Apps, b.Apps = nil, nil
		if !bytes.Equal(deviceJSON(t, &a), deviceJSON(t, &b)) {
			t.Errorf("%s: properties depend on the fleet size", name)
		}
	}
}

// Paging returns the same devices, byte for byte, whatever the page size.
func TestPagingIdenticalAcrossPageSizes(t *testing.T) {
	s, ts := newTestServer(t, Options{Devices: MaterializeLimit + 37, MaxPageSize: 999})
	tok := getToken(t, ts.URL)
	var want []json.RawMessage
	for _, top := range []int{999, 7, 100} {
		var got []json.RawMessage
		u := fmt.Sprintf("%s/v1.0/deviceManagement/managedDevices?$top=%d", ts.URL, top)
		for u != "" {
			r := get(t, u, tok)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", u, r.status, r.raw)
			}
			var page struct {
				Next  string            `json:"@odata.nextLink"`
				Value []json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(r.raw, &page); err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Value...)
			u = page.Next
		}
		if len(got) != s.Fleet().Len() {
			t.Fatalf("$top=%d: %d devices, want %d", top, len(got), s.Fleet().Len())
		}
		if want == nil {
			want = got
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("$top=%d: device %d differs from the one paged with $top=999", top, i)
			}
		}
	}
	// And each is the fleet's device at that position.
	for _, i := range []int{0, 500, len(want) - 1} {
		var m map[string]json.RawMessage
		json.Unmarshal(want[i], &m)
		if id := str(t, m["id"]); id != s.Fleet().DeviceAt(i).ID {
			t.Errorf("position %d: served %s, fleet has %s", i, id, s.Fleet().DeviceAt(i).ID)
		}
	}
}

// A fleet of 20,000 devices (about 1.6 million device-app pairs) is built
// lazily: this checks that it is consistent and stays small. It asserts no
// timing; go test -bench=LargeFleet measures it.
func TestLargeFleet(t *testing.T) {
	const n = 20000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, ts := newTestServer(t, Options{Devices: n, MaxPageSize: 999})
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / (1 << 20)
	t.Logf("simulator with %d devices: %.1f MiB of heap", n, heap)
	if heap > 64 {
		t.Errorf("simulator with %d devices holds %.1f MiB of heap, want tens of MiB at most", n, heap)
	}
	f := s.Fleet()
	if f.Len() != n || f.Devices != nil || len(f.Planted) != len(Scenarios) {
		t.Fatalf("Len %d, materialised %d, planted %v", f.Len(), len(f.Devices), f.Planted)
	}
	pairs := 0
	for i := range n {
		pairs += len(f.reportedApps(i))
	}
	counted := 0
	var mid DetectedApp
	for _, a := range f.DetectedApps() {
		counted += int(a.DeviceCount)
		if a.DeviceCount > 300 && a.DeviceCount < 1500 {
			mid = a
		}
	}
	t.Logf("%d reported device-app pairs, %.1f per device, %d distinct apps", pairs, float64(pairs)/n, len(f.DetectedApps()))
	if counted != pairs || pairs < 60*n {
		t.Errorf("deviceCounts add up to %d, devices report %d apps", counted, pairs)
	}

	tok := getToken(t, ts.URL)
	items, _ := pageAll(t, ts.URL+"/v1.0/deviceManagement/detectedApps/"+mid.ID+"/managedDevices?$select=id&$top=999", tok)
	if len(items) != int(mid.DeviceCount) {
		t.Errorf("%s: %d devices served, deviceCount %d", mid.DisplayName, len(items), mid.DeviceCount)
	}
	jb := f.Planted[ScenarioJailbrokenIPhone]
	apps, _ := pageAll(t, ts.URL+"/beta/deviceManagement/managedDevices/"+jb+"/detectedApps", tok)
	if !bytes.Contains(mustJSON(t, apps), []byte(`"Sileo"`)) {
		t.Error("the jailbroken iPhone of a large fleet does not report Sileo")
	}
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top=999&$skiptoken="+s.skip.mint("/v1.0/devicemanagement/manageddevices\x00", n-5), tok)
	if got := len(r.items(t)); got != 5 || r.str(t, "@odata.nextLink") != "" {
		t.Errorf("last page: %d devices, nextLink %q", got, r.str(t, "@odata.nextLink"))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkNewFleet20000(b *testing.B) {
	for b.Loop() {
		NewFleet(1, 20000, fixedNow)
	}
}

func BenchmarkServeDeviceApps(b *testing.B) {
	s := New(Options{Devices: 20000, Now: fixedNow})
	h := s.Handler()
	tok := s.mintToken(s.opts.Clock())
	id := s.Fleet().Planted[ScenarioDeveloperPhone]
	b.ResetTimer()
	for b.Loop() {
		serveOnce(b, h, "/beta/deviceManagement/managedDevices/"+id+"/detectedApps", tok)
	}
}

func BenchmarkServeDevicePage(b *testing.B) {
	s := New(Options{Devices: 20000, Now: fixedNow})
	h := s.Handler()
	tok := s.mintToken(s.opts.Clock())
	b.ResetTimer()
	for b.Loop() {
		serveOnce(b, h, "/v1.0/deviceManagement/managedDevices?$top=100", tok)
	}
}
