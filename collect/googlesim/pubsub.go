package googlesim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSubscription is the simulated Pub/Sub subscription the enterprise
// publishes its notifications to.
const DefaultSubscription = "projects/" + DefaultProject + "/subscriptions/amapi-notifications"

// Message is one Pub/Sub message as published: AMAPI's notification
// (attribute notificationType) with its resource as UTF-8 JSON data.
type Message struct {
	ID         string
	Attributes map[string]string
	Data       []byte
	Published  time.Time
}

// msgState is a message in the subscription: available, leased to the
// holder of ackID until deadline, or acknowledged.
type msgState struct {
	msg      Message
	envelope []byte // the PubsubMessage as JSON, made once
	ackID    string
	deadline time.Time
	attempts int
	acked    bool
}

// PubSubStats counts what the subscription did.
type PubSubStats struct {
	Published, Acked, Delivered, Redelivered int
}

// Publish adds messages to the subscription.
func (s *Server) Publish(msgs ...Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		env, _ := json.Marshal(map[string]any{"data": base64.StdEncoding.EncodeToString(m.Data), "attributes": m.Attributes,
			"messageId": m.ID, "publishTime": m.Published.UTC().Format(time.RFC3339Nano)})
		s.subscription = append(s.subscription, &msgState{msg: m, envelope: env})
	}
}

// PubSubStats returns the subscription's counts.
func (s *Server) PubSubStats() PubSubStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := PubSubStats{Published: len(s.subscription)}
	for _, m := range s.subscription {
		if m.acked {
			st.Acked++
		}
		st.Delivered += m.attempts
		if m.attempts > 1 {
			st.Redelivered += m.attempts - 1
		}
	}
	return st
}

// servePubSub answers projects.subscriptions pull, acknowledge and
// modifyAckDeadline on DefaultSubscription.
func (s *Server) servePubSub(w http.ResponseWriter, r *http.Request) {
	name, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/"), ":")
	if !ok || r.Method != http.MethodPost {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	if name != DefaultSubscription {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Resource not found (resource="+strings.TrimPrefix(name, "projects/"+DefaultProject+"/subscriptions/")+").")
		return
	}
	if err := s.authorize(r, ScopePubSub); err != nil {
		err.write(w)
		return
	}
	var req struct {
		MaxMessages        int      `json:"maxMessages"`
		AckIDs             []string `json:"ackIds"`
		AckDeadlineSeconds *int     `json:"ackDeadlineSeconds"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err := json.Unmarshal(body, &req); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	now := s.opts.Now()
	switch method {
	case "pull":
		if req.MaxMessages <= 0 {
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The value for max_messages is out of range. It must be greater than 0.")
			return
		}
		// A PullResponse, written by hand around the envelopes made at
		// publication: encoding/json would scan megabytes of base64 again
		// on every pull.
		body := []byte(`{"receivedMessages":[`)
		n := 0
		s.mu.Lock()
		for s.ackedPrefix < len(s.subscription) && s.subscription[s.ackedPrefix].acked {
			s.ackedPrefix++
		}
		for _, m := range s.subscription[s.ackedPrefix:] {
			if n == min(req.MaxMessages, 1000) {
				break
			}
			if m.acked || (m.ackID != "" && now.Before(m.deadline)) {
				continue
			}
			if s.leased == nil {
				s.leased = map[string]*msgState{}
			}
			delete(s.leased, m.ackID)
			m.ackID, m.deadline = newAckID(), now.Add(s.opts.AckDeadline)
			s.leased[m.ackID] = m
			m.attempts++
			if n > 0 {
				body = append(body, ',')
			}
			n++
			id, _ := json.Marshal(m.ackID)
			body = append(append(append(body, `{"ackId":`...), id...), `,"message":`...)
			body = append(append(body, m.envelope...), `,"deliveryAttempt":`...)
			body = append(strconv.AppendInt(body, int64(m.attempts), 10), '}')
		}
		s.mu.Unlock()
		if n == 0 {
			writeJSON(w, map[string]any{})
			return
		}
		body = append(body, "]}\n"...)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	case "acknowledge", "modifyAckDeadline":
		if len(req.AckIDs) == 0 {
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "No ack ids specified.")
			return
		}
		extend := time.Duration(0)
		if method == "modifyAckDeadline" {
			if req.AckDeadlineSeconds == nil || *req.AckDeadlineSeconds < 0 || *req.AckDeadlineSeconds > 600 {
				googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid ack deadline given. It must be between 0 and 600 seconds.")
				return
			}
			extend = time.Duration(*req.AckDeadlineSeconds) * time.Second
		}
		s.mu.Lock()
		for _, id := range req.AckIDs {
			// An ack id is good only while its lease lasts; a late ack
			// is dropped, as Pub/Sub drops it, and the message is
			// redelivered.
			m := s.leased[id]
			if m == nil || m.acked || now.After(m.deadline) {
				continue
			}
			if method == "acknowledge" {
				m.acked = true
				delete(s.leased, id)
			} else {
				m.deadline = now.Add(extend)
			}
		}
		s.mu.Unlock()
		writeJSON(w, map[string]any{})
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

func newAckID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "RVNEUAYWLF1GSFE3GQhoUQ5PXiM_" + hex.EncodeToString(b)
}

// UsageLogs returns AMAPI's USAGE_LOGS notifications for the planted
// fleet: what each planted case left in its security log, one event of
// every type in the API's catalogue on the developer's phone, and an
// ENROLLMENT, a STATUS_REPORT and a COMMAND notification. Each message is
// one BatchUsageLogEvents, as AMAPI publishes them.
func (s *Server) UsageLogs() []Message {
	f := s.fleet
	now := s.opts.Now().UTC()
	var out []Message
	seq := 0
	eventID := int64(1000)
	batch := func(device string, at time.Time, events ...map[string]any) {
		for _, e := range events {
			eventID++
			e["eventId"] = strconv.FormatInt(eventID, 10)
			e["eventTime"] = at.Format(time.RFC3339Nano)
			at = at.Add(7 * time.Second)
		}
		var user string
		for _, d := range f.Devices {
			if d.Name == device {
				user = d.UserName
			}
		}
		data, _ := json.Marshal(map[string]any{"device": device, "user": user, "retrievalTime": now.Format(time.RFC3339Nano), "usageLogEvents": events})
		seq++
		out = append(out, Message{ID: fmt.Sprintf("%d", 9000000000000000+seq), Data: data, Published: at,
			Attributes: map[string]string{"notificationType": "USAGE_LOGS"}})
	}
	ev := func(kind string, payload map[string]any) map[string]any {
		return map[string]any{"eventType": kind, payloadKey(kind): payload}
	}
	if d, ok := f.Planted[ScenarioDeveloper]; ok {
		batch(d, now.Add(-5*time.Hour),
			ev("ADB_SHELL_INTERACTIVE", map[string]any{}),
			ev("ADB_SHELL_COMMAND", map[string]any{"shellCmd": "logcat -d -s ActivityManager"}),
			ev("ADB_SHELL_COMMAND", map[string]any{"shellCmd": "dumpsys battery"}))
	}
	if d, ok := f.Planted[ScenarioCompromised]; ok {
		batch(d, now.Add(-3*time.Hour),
			ev("ADB_SHELL_COMMAND", map[string]any{"shellCmd": "pm list packages -f"}),
			ev("FILE_PUSHED", map[string]any{"filePath": "/data/local/tmp/update.apk"}),
			ev("ADB_SHELL_COMMAND", map[string]any{"shellCmd": "pm install -r -g /data/local/tmp/update.apk"}),
			ev("ADB_SHELL_COMMAND", map[string]any{"shellCmd": "su -c 'content query --uri content://sms/inbox'"}),
			ev("APP_PROCESS_START", map[string]any{"processInfo": map[string]any{"processName": "com.android.systemupdate",
				"startTime": now.Add(-3 * time.Hour).Format(time.RFC3339Nano), "uid": 10311, "pid": 9121,
				"seinfo": "default:targetSdkVersion=23:complete", "apkSha256Hash": hexOf(sum256, "update.apk"),
				"packageNames": []string{"com.android.systemupdate"}}}))
	}
	if d, ok := f.Planted[ScenarioIOCApp]; ok {
		batch(d, now.Add(-19*time.Hour),
			ev("APP_PROCESS_START", map[string]any{"processInfo": map[string]any{"processName": IOCPackage,
				"startTime": now.Add(-19 * time.Hour).Format(time.RFC3339Nano), "uid": 10244, "pid": 4411,
				"seinfo": "default:targetSdkVersion=28:complete", "apkSha256Hash": IOCAPKSHA256, "packageNames": []string{IOCPackage}}}),
			ev("CONNECT", map[string]any{"destinationIpAddress": "185.117.90.9", "destinationPort": 443, "packageName": IOCPackage}))
	}
	if d, ok := f.Planted[ScenarioUnknownSources]; ok {
		batch(d, now.Add(-7*time.Hour),
			ev("MEDIA_MOUNT", map[string]any{"mountPoint": "/storage/1A2B-3C4D", "volumeLabel": "USB DRIVE"}),
			ev("CERT_AUTHORITY_INSTALLED", map[string]any{"certificate": "CN=Corp Inspection Root, O=Example", "success": true, "userId": 0}),
			ev("MEDIA_UNMOUNT", map[string]any{"mountPoint": "/storage/1A2B-3C4D", "volumeLabel": "USB DRIVE"}))
	}
	if d, ok := f.Planted[ScenarioOutdatedPatch]; ok {
		batch(d, now.Add(-30*time.Hour),
			ev("OS_SHUTDOWN", map[string]any{}),
			ev("OS_STARTUP", map[string]any{"verifiedBootState": "ORANGE", "verityMode": "DISABLED"}))
	}
	// One of every type of the catalogue, on the developer's phone, where
	// ADB sessions are expected.
	if d, ok := f.Planted[ScenarioDeveloper]; ok {
		var all []map[string]any
		for _, kind := range EventTypes {
			all = append(all, ev(kind, samplePayload(kind)))
		}
		batch(d, now.Add(-2*time.Hour), all...)
	}
	// Other notification types: the device resource, and an operation.
	if len(f.Devices) > 0 {
		d := f.Devices[len(f.Devices)-1]
		for _, kind := range []string{"ENROLLMENT", "STATUS_REPORT"} {
			data, _ := json.Marshal(d)
			seq++
			out = append(out, Message{ID: fmt.Sprintf("%d", 9000000000000000+seq), Data: data, Published: now.Add(-time.Hour),
				Attributes: map[string]string{"notificationType": kind}})
		}
		op, _ := json.Marshal(map[string]any{"name": d.Name + "/operations/1700000000000", "done": true,
			"metadata": map[string]any{"@type": "type.googleapis.com/google.android.devicemanagement.v1.Command", "type": "LOCK"}})
		seq++
		out = append(out, Message{ID: fmt.Sprintf("%d", 9000000000000000+seq), Data: op, Published: now.Add(-time.Hour),
			Attributes: map[string]string{"notificationType": "COMMAND"}})
	}
	return out
}

// EventTypes is the usage-log event catalogue (UsageLogEvent.eventType of
// the discovery document, EVENT_TYPE_UNSPECIFIED aside).
var EventTypes = []string{"ADB_SHELL_COMMAND", "ADB_SHELL_INTERACTIVE", "APP_PROCESS_START", "KEYGUARD_DISMISSED",
	"KEYGUARD_DISMISS_AUTH_ATTEMPT", "KEYGUARD_SECURED", "FILE_PULLED", "FILE_PUSHED", "CERT_AUTHORITY_INSTALLED",
	"CERT_AUTHORITY_REMOVED", "CERT_VALIDATION_FAILURE", "CRYPTO_SELF_TEST_COMPLETED", "KEY_DESTRUCTION", "KEY_GENERATED",
	"KEY_IMPORT", "KEY_INTEGRITY_VIOLATION", "LOGGING_STARTED", "LOGGING_STOPPED", "LOG_BUFFER_SIZE_CRITICAL", "MEDIA_MOUNT",
	"MEDIA_UNMOUNT", "OS_SHUTDOWN", "OS_STARTUP", "REMOTE_LOCK", "WIPE_FAILURE", "CONNECT", "DNS", "STOP_LOST_MODE_USER_ATTEMPT",
	"LOST_MODE_OUTGOING_PHONE_CALL", "LOST_MODE_LOCATION", "ENROLLMENT_COMPLETE", "BACKUP_SERVICE_TOGGLED"}

// payloadKey is the UsageLogEvent member holding an event type's payload:
// ADB_SHELL_COMMAND → adbShellCommandEvent.
func payloadKey(kind string) string {
	var b strings.Builder
	for i, w := range strings.Split(strings.ToLower(kind), "_") {
		if i > 0 && w != "" {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	return b.String() + "Event"
}

// samplePayload is a plausible payload of each event type, with the
// discovery document's member names.
func samplePayload(kind string) map[string]any {
	switch kind {
	case "ADB_SHELL_COMMAND":
		return map[string]any{"shellCmd": "getprop ro.build.fingerprint"}
	case "APP_PROCESS_START":
		return map[string]any{"processInfo": map[string]any{"processName": "com.whatsapp", "startTime": "2026-11-26T07:00:00Z",
			"uid": 10123, "pid": 3321, "seinfo": "default:targetSdkVersion=34:complete", "apkSha256Hash": hexOf(sum256, "whatsapp.apk"),
			"packageNames": []string{"com.whatsapp"}}}
	case "KEYGUARD_DISMISS_AUTH_ATTEMPT":
		return map[string]any{"success": false, "strongAuthMethodUsed": true}
	case "FILE_PULLED", "FILE_PUSHED":
		return map[string]any{"filePath": "/sdcard/Download/report.pdf"}
	case "CERT_AUTHORITY_INSTALLED", "CERT_AUTHORITY_REMOVED":
		return map[string]any{"certificate": "CN=Example Root CA", "success": true, "userId": 0}
	case "CERT_VALIDATION_FAILURE":
		return map[string]any{"failureReason": "certificate expired"}
	case "CRYPTO_SELF_TEST_COMPLETED":
		return map[string]any{"success": true}
	case "KEY_DESTRUCTION", "KEY_GENERATED", "KEY_IMPORT":
		return map[string]any{"applicationUid": 10123, "keyAlias": "signing-key", "success": true}
	case "KEY_INTEGRITY_VIOLATION":
		return map[string]any{"applicationUid": 10123, "keyAlias": "signing-key"}
	case "MEDIA_MOUNT", "MEDIA_UNMOUNT":
		return map[string]any{"mountPoint": "/storage/0000-0000", "volumeLabel": "SD"}
	case "OS_STARTUP":
		return map[string]any{"verifiedBootState": "GREEN", "verityMode": "ENFORCING"}
	case "REMOTE_LOCK":
		return map[string]any{"adminPackageName": "com.google.android.apps.work.clouddpc", "adminUserId": 0, "targetUserId": 0}
	case "CONNECT":
		return map[string]any{"destinationIpAddress": "142.250.74.46", "destinationPort": 443, "packageName": "com.android.chrome"}
	case "DNS":
		return map[string]any{"hostname": "www.example.com", "ipAddresses": []string{"93.184.215.14"}, "totalIpAddressesReturned": "1", "packageName": "com.android.chrome"}
	case "STOP_LOST_MODE_USER_ATTEMPT":
		return map[string]any{"status": "ATTEMPT_FAILED"}
	case "LOST_MODE_LOCATION":
		return map[string]any{"location": map[string]any{"latitude": 52.37, "longitude": 4.89}, "batteryLevel": 64}
	case "BACKUP_SERVICE_TOGGLED":
		return map[string]any{"adminPackageName": "com.google.android.apps.work.clouddpc", "adminUserId": 0, "backupServiceState": "BACKUP_SERVICE_DISABLED"}
	}
	return map[string]any{}
}

// BulkUsageLogs returns n USAGE_LOGS messages of perMessage events each,
// spread over the fleet's devices: ordinary traffic (DNS lookups,
// connections, app starts, keyguard events) for benchmarks and crash
// tests. Event ids continue per message, so they never repeat.
func (s *Server) BulkUsageLogs(n, perMessage int) []Message {
	f := s.fleet
	now := s.opts.Now().UTC()
	kinds := []string{"DNS", "CONNECT", "APP_PROCESS_START", "KEYGUARD_SECURED", "KEYGUARD_DISMISSED"}
	out := make([]Message, 0, n)
	for i := range n {
		d := f.Devices[i%len(f.Devices)]
		at := now.Add(-time.Duration(n-i) * time.Minute)
		events := make([]map[string]any, perMessage)
		for j := range events {
			kind := kinds[(i+j)%len(kinds)]
			e := map[string]any{"eventType": kind, payloadKey(kind): samplePayload(kind),
				"eventId": strconv.FormatInt(int64(1_000_000+i*perMessage+j), 10), "eventTime": at.Add(time.Duration(j) * time.Second).Format(time.RFC3339Nano)}
			events[j] = e
		}
		data, _ := json.Marshal(map[string]any{"device": d.Name, "user": d.UserName, "retrievalTime": now.Format(time.RFC3339Nano), "usageLogEvents": events})
		out = append(out, Message{ID: fmt.Sprintf("%d", 8000000000000000+i), Data: data, Published: at,
			Attributes: map[string]string{"notificationType": "USAGE_LOGS"}})
	}
	return out
}

// ExportNDJSON renders msgs as a Pub/Sub export: one push envelope per
// line, as a push endpoint or an export job writes them.
func ExportNDJSON(msgs []Message) []byte {
	var out []byte
	for _, m := range msgs {
		line, _ := json.Marshal(map[string]any{"subscription": DefaultSubscription, "message": map[string]any{
			"data": base64.StdEncoding.EncodeToString(m.Data), "attributes": m.Attributes,
			"messageId": m.ID, "publishTime": m.Published.UTC().Format(time.RFC3339Nano)}})
		out = append(append(out, line...), '\n')
	}
	return out
}
