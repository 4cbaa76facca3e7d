package amapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
)

// Pub/Sub defaults.
const (
	DefaultPubSubURL = "https://pubsub.googleapis.com"
	// ScopePubSub lets the service account pull from the subscription.
	ScopePubSub = "https://www.googleapis.com/auth/pubsub"
	// DefaultPullBatch is maxMessages of each pull.
	DefaultPullBatch = 100
	// leaseExtension is the ack deadline asked for messages still being
	// written; the lease is renewed at a third of it.
	leaseExtension = 60 * time.Second
)

// subscriptionName is projects/P/subscriptions/S, as Pub/Sub names them.
var subscriptionName = regexp.MustCompile(`^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/subscriptions/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$`)

// Event types of the usage logs: the lower-cased eventType of the API
// (adb_shell_command, app_process_start, …). Notifications that are not
// usage logs become events too:
const (
	// EventStatusReport is a STATUS_REPORT or ENROLLMENT notification: the
	// device as it reported itself then.
	EventStatusReport = "status_report"
)

// LogStats counts what draining the subscription did.
type LogStats struct {
	Pulls, Messages, Events int
	Duplicates              int            // messages already written (redelivered), acknowledged again
	Unselected              int            // events of devices outside the selection, left in the raw data
	Ignored                 map[string]int // other notification types, by type
	DuplicateEvents         int
}

// unitMessage is the unit of one Pub/Sub message.
func unitMessage(id string) string { return Name + ":pubsub:" + id }

// pubsubURL is the URL of method on the subscription.
func (s *Source) pubsubURL(method string) *url.URL {
	u := s.pubsub.Base.JoinPath("v1")
	u.Path += "/" + s.cfg.Subscription + ":" + method
	u.RawPath = ""
	return u
}

// post sends an authenticated JSON POST to Pub/Sub and captures the
// response. Pull, acknowledge and modifyAckDeadline are safe to repeat.
func (s *Source) post(ctx context.Context, u *url.URL, body any, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, collect.RawRef{}, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	return httpsource.Authorized(ctx, s.pubsub, httpx.Request{Method: http.MethodPost, URL: u, Header: h, Body: data, Idempotent: true},
		s.tokens, sink, Name, logHeaders)
}

// received is one ReceivedMessage of a pull, with the index of its
// envelope in the response.
type received struct {
	AckID   string `json:"ackId"`
	Message struct {
		Data        string            `json:"data"`
		Attributes  map[string]string `json:"attributes"`
		MessageID   string            `json:"messageId"`
		PublishTime string            `json:"publishTime"`
	} `json:"message"`
	DeliveryAttempt int `json:"deliveryAttempt"`
}

// drainLogs pulls the subscription until it is empty (or the run's bounds
// are reached), writing every message's records under the message's unit,
// making them durable, and only then acknowledging. A message already
// written (a redelivery after a crash or a late ack) is acknowledged
// again, not written twice. The next batch is pulled, its leases kept,
// while the current one is written.
func (s *Source) drainLogs(ctx context.Context, req collect.Request, sink collect.Sink, keep func(deviceKey string) bool, listed map[string]bool) (LogStats, error) {
	st := LogStats{Ignored: map[string]int{}}
	written := map[string]bool{} // message ids written in this run
	events := map[string]bool{}  // device/eventId written, and device:KEY listed or written, in this run
	for key := range listed {
		events["device:"+key] = true
	}
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan pulled, 1) // one batch waits while one is written
	pulls := make(chan int, 1)
	p := &puller{out: batches, handled: make(chan struct{}, 1)}
	go func() { pulls <- s.pull(ctx, p, sink) }()
	var err error
	for b := range batches {
		if err == nil && b.err == nil {
			err = s.handleBatch(ctx, req, b, sink, keep, written, events, &st)
		}
		if err == nil {
			err = b.err
		}
		b.stop()
		p.done()
		if err != nil {
			cancel() // the puller stops; what it pulled comes back later
		}
	}
	cancel()
	st.Pulls = <-pulls
	return st, err
}

// pulled is one pull's messages, their leases kept until stop.
type pulled struct {
	msgs   []received
	ackIDs []string
	ref    collect.RawRef
	stop   func()
	err    error
}

// puller is the pulling side of a drain: batches go out, and the writer
// says when each is handled.
type puller struct {
	out      chan<- pulled
	inFlight atomic.Int32
	handled  chan struct{}
}

// done marks one batch handled (written and acknowledged, or not).
func (p *puller) done() {
	p.inFlight.Add(-1)
	select {
	case p.handled <- struct{}{}:
	default:
	}
}

// pull pulls batches into p.out until the subscription is empty or the
// run's bounds are reached, then closes p.out. An empty answer counts
// only while no batch is being written: one being written may yet come
// back (an acknowledgement lost), as it would in a sequential drain. It
// returns the number of pulls.
func (s *Source) pull(ctx context.Context, p *puller, sink collect.Sink) int {
	defer close(p.out)
	start := s.cfg.Now()
	empties, pulls, pulledMsgs := 0, 0, 0
	fail := func(err error) int {
		p.inFlight.Add(1)
		p.out <- pulled{stop: func() {}, err: err}
		return pulls
	}
	for {
		if s.cfg.MaxMessages > 0 && pulledMsgs >= s.cfg.MaxMessages {
			return pulls
		}
		if s.cfg.Duration > 0 && s.cfg.Now().Sub(start) >= s.cfg.Duration {
			return pulls
		}
		if ctx.Err() != nil {
			return pulls
		}
		batch := s.cfg.PullBatch
		if s.cfg.MaxMessages > 0 {
			batch = min(batch, s.cfg.MaxMessages-pulledMsgs)
		}
		resp, ref, err := s.post(ctx, s.pubsubURL("pull"), map[string]int{"maxMessages": batch}, sink)
		if err != nil {
			if ctx.Err() != nil {
				return pulls // stopped by the writer
			}
			return fail(fmt.Errorf("pulling %s: %w", s.cfg.Subscription, err))
		}
		pulls++
		msgs, err := decodePull(resp.Body)
		if err != nil {
			return fail(fmt.Errorf("pulling %s: decoding %s: %w", s.cfg.Subscription, ref.Path, err))
		}
		if len(msgs) == 0 {
			if p.inFlight.Load() > 0 {
				// Wait for the batch being written before asking again.
				select {
				case <-p.handled:
				case <-ctx.Done():
					return pulls
				}
				continue
			}
			empties++
			// Pub/Sub may answer a pull empty while messages remain;
			// two empty answers in a row end an --until-empty drain.
			if (s.cfg.Duration == 0 || s.cfg.UntilEmpty) && empties >= 2 {
				return pulls
			}
			if err := s.sleep(ctx, time.Second); err != nil {
				return pulls
			}
			continue
		}
		empties = 0
		pulledMsgs += len(msgs)
		var ackIDs []string
		for _, m := range msgs {
			if m.AckID != "" {
				ackIDs = append(ackIDs, m.AckID)
			}
		}
		b := pulled{msgs: msgs, ackIDs: ackIDs, ref: ref, stop: s.keepLeases(ctx, ackIDs, sink)}
		p.inFlight.Add(1)
		select {
		case p.out <- b:
		case <-ctx.Done():
			b.stop()
			return pulls
		}
	}
}

// handleBatch writes one pull's messages, makes them durable and
// acknowledges them (the puller keeps their leases meanwhile).
func (s *Source) handleBatch(ctx context.Context, req collect.Request, b pulled, sink collect.Sink,
	keep func(string) bool, written, events map[string]bool, st *LogStats) error {
	msgs, ref, ackIDs := b.msgs, b.ref, b.ackIDs
	if err := writeMessages(s.cfg.Now, req, msgs, "the base64 data of the messages of "+ref.Path+", decoded", sink, keep, written, events, st); err != nil {
		return err
	}
	// Durable first, then acknowledged: a crash in between redelivers
	// messages already written, which are then only acknowledged.
	if err := sink.Sync(); err != nil {
		return &httpsource.StagingError{Err: err}
	}
	if len(ackIDs) > 0 {
		if _, _, err := s.post(ctx, s.pubsubURL("acknowledge"), map[string][]string{"ackIds": ackIDs}, sink); err != nil {
			if httpsource.Fatal(ctx, err) || httpsource.AuthFailed(err) {
				return err
			}
			// Not acknowledged: the messages come back and are
			// recognised as written.
		}
	}
	return nil
}

// keepLeases extends the ack deadline of ackIDs to Config.AckExtension
// every third of it until the returned stop is called.
func (s *Source) keepLeases(ctx context.Context, ackIDs []string, sink collect.Sink) (stop func()) {
	if len(ackIDs) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ext := s.cfg.AckExtension
		t := time.NewTicker(ext / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.post(ctx, s.pubsubURL("modifyAckDeadline"), map[string]any{"ackIds": ackIDs,
					"ackDeadlineSeconds": max(1, int((ext+time.Second-1)/time.Second))}, sink)
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// decodePull reads a PullResponse. Nothing points into it (records point
// into the decoded data), so a plain decode will do.
func decodePull(data []byte) ([]received, error) {
	var resp struct {
		ReceivedMessages []received `json:"receivedMessages"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, err
	}
	return resp.ReceivedMessages, nil
}

// parsed is one message decoded into the records it gives, before they
// are written: decoding is done in parallel, writing in order.
type parsed struct {
	events  []collect.Event
	device  *collect.Device // from a STATUS_REPORT or ENROLLMENT
	ignored map[string]int
}

func (p *parsed) ignore(what string) {
	if p.ignored == nil {
		p.ignored = map[string]int{}
	}
	p.ignored[what]++
}

// parseMessage decodes one message (data is its decoded data, at ref).
func parseMessage(m received, data json.RawMessage, ref collect.RawRef) parsed {
	var p parsed
	kind := m.Message.Attributes["notificationType"]
	switch kind {
	case "USAGE_LOGS":
		p.events, p.ignored = parseUsageLogs(data, ref)
	case "STATUS_REPORT", "ENROLLMENT":
		var d device
		if json.Unmarshal(data, &d) != nil || d.Name == "" {
			p.ignore(kind + " (unreadable)")
			return p
		}
		rec := d.record(ref)
		fields := map[string]any{"notification": strings.ToLower(kind), "compliance": rec.Compliance,
			"compromised": rec.Compromised.Value, "security_patch_level": rec.SecurityPatchLevel, "os_version": rec.OSVersion,
			"state": d.State, "applied_policy_version": d.AppliedPolicyVersion}
		at := time.Time{}
		if rec.LastSeenAt != nil {
			at = *rec.LastSeenAt
		}
		p.events = []collect.Event{{DeviceKey: rec.Key, Time: at, Type: EventStatusReport, Fields: fields, Raw: ref}}
		p.device = &rec
	default:
		p.ignore(kind)
	}
	return p
}

// write writes a parsed message's records of the devices kept into sink:
// its events, each device event id once, and the device a status report
// describes when no device record names it yet (seen: the event ids and
// "device:KEY" of the devices written or listed in this run).
func (p parsed) write(sink collect.Sink, keep func(string) bool, seen map[string]bool, st *LogStats) error {
	for k, n := range p.ignored {
		st.Ignored[k] += n
	}
	if d := p.device; d != nil && (keep == nil || keep(d.Key)) && !seen["device:"+d.Key] {
		seen["device:"+d.Key] = true
		if err := sink.Device(*d); err != nil {
			return err
		}
	}
	for _, ev := range p.events {
		if keep != nil && !keep(ev.DeviceKey) {
			st.Unselected++
			continue
		}
		if id, _ := ev.Fields["event_id"].(string); id != "" {
			if seen[ev.DeviceKey+"/"+id] {
				st.DuplicateEvents++
				continue
			}
			seen[ev.DeviceKey+"/"+id] = true
		}
		st.Events++
		if err := sink.Event(ev); err != nil {
			return err
		}
	}
	return nil
}

// usageLogs decodes and writes the events of a BatchUsageLogEvents.
func (s *Source) usageLogs(data json.RawMessage, ref collect.RawRef, sink collect.Sink, seen map[string]bool, st *LogStats) error {
	evs, ignored := parseUsageLogs(data, ref)
	return parsed{events: evs, ignored: ignored}.write(sink, nil, seen, st)
}

// parseUsageLogs decodes a BatchUsageLogEvents, reading the object once as
// a stream and matching member names exactly (the records point at
// /usageLogEvents/N).
func parseUsageLogs(data json.RawMessage, ref collect.RawRef) ([]collect.Event, map[string]int) {
	dec := json.NewDecoder(bytes.NewReader(data))
	unreadable := map[string]int{"USAGE_LOGS (unreadable)": 1}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, unreadable
	}
	var device string
	var events []json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, unreadable
		}
		name, _ := t.(string)
		switch name {
		case "device":
			device = ""
			if err := dec.Decode(&device); err != nil {
				return nil, unreadable
			}
		case "usageLogEvents":
			// The last of duplicate members wins, as a JSON pointer
			// resolves it.
			events = nil
			if err := dec.Decode(&events); err != nil {
				return nil, unreadable
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, unreadable
			}
		}
	}
	key := Name + ":" + lastSegment(device)
	out := make([]collect.Event, 0, len(events))
	var ignored map[string]int
	for j, raw := range events {
		ev, err := usageEvent(raw)
		if err != nil {
			if ignored == nil {
				ignored = map[string]int{}
			}
			ignored["usage log event (unreadable)"]++
			continue
		}
		ev.DeviceKey = key
		ev.Raw = child(ref, "usageLogEvents", j)
		out = append(out, ev)
	}
	return out, ignored
}

// usageEvent maps one UsageLogEvent: its type lower-cased, its time, its
// eventId, and its payload's members in snake case (APP_PROCESS_START's
// processInfo members at the top, nested objects joined with "_").
func usageEvent(raw json.RawMessage) (collect.Event, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return collect.Event{}, err
	}
	kind, _ := m["eventType"].(string)
	when, _ := m["eventTime"].(string)
	id, _ := m["eventId"].(string)
	t := parseTime(when)
	if kind == "" || t == nil {
		return collect.Event{}, errors.New("no eventType or eventTime")
	}
	fields := map[string]any{"event_id": id}
	obj, ok := m[payloadKey(kind)].(map[string]any)
	if !ok {
		// A type newer than this code: take the member that is an event
		// payload.
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if o, isObj := m[k].(map[string]any); isObj && strings.HasSuffix(k, "Event") {
				obj = o
				break
			}
		}
	}
	if pi, ok := obj["processInfo"].(map[string]any); ok && len(obj) == 1 {
		obj = pi
	}
	flatten(fields, "", obj)
	return collect.Event{Time: *t, Type: strings.ToLower(kind), Fields: fields}, nil
}

// flatten copies obj into fields with snake-case names, nested objects
// prefixed by their parent's.
func flatten(fields map[string]any, prefix string, obj map[string]any) {
	for k, v := range obj {
		name := prefix + snake(k)
		if sub, ok := v.(map[string]any); ok {
			flatten(fields, name+"_", sub)
			continue
		}
		fields[name] = v
	}
}

// snake turns camelCase into snake_case (apkSha256Hash → apk_sha256_hash).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

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

// writeMessages stores the decoded data of msgs beside where they came
// from (note says where) and writes each message's records under its
// unit, once: a message already written (in this run, or before a resume)
// is skipped. Decoding runs on every core; writing is in message order.
func writeMessages(now func() time.Time, req collect.Request, msgs []received, note string, sink collect.Sink,
	keep func(string) bool, written, events map[string]bool, st *LogStats) error {
	// The base64 data of every message, decoded, kept beside the pull
	// response: the records point into it.
	type decodedMsg struct {
		MessageID string          `json:"messageId"`
		Data      json.RawMessage `json:"data"`
	}
	decoded := make([]decodedMsg, len(msgs))
	for k, m := range msgs {
		decoded[k].MessageID = m.Message.MessageID
		data, err := base64.StdEncoding.DecodeString(m.Message.Data)
		if err != nil || !json.Valid(data) {
			data, _ = json.Marshal(string(data)) // kept as text
		}
		decoded[k].Data = data
	}
	// Built by hand: json.Marshal would validate and compact every data
	// again, and the data must stay byte for byte as received.
	body := []byte(`{"messages":[`)
	for k, d := range decoded {
		if k > 0 {
			body = append(body, ',')
		}
		id, _ := json.Marshal(d.MessageID)
		body = append(body, `{"messageId":`...)
		body = append(body, id...)
		body = append(body, `,"data":`...)
		body = append(body, d.Data...)
		body = append(body, '}')
	}
	body = append(body, "]}"...)
	dref, err := sink.Capture(Name, &collect.Exchange{Started: now(), Finished: now(), Note: note}, body, true)
	if err != nil {
		return &httpsource.StagingError{Err: err}
	}
	// Decoding is the costly part: it runs on every core, and the
	// records are then written in message order.
	out := make([]parsed, len(msgs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for k := range next {
				r := dref
				r.Pointer = fmt.Sprintf("/messages/%d/data", k)
				out[k] = parseMessage(msgs[k], decoded[k].Data, r)
			}
		})
	}
	for k := range msgs {
		next <- k
	}
	close(next)
	wg.Wait()
	for k, m := range msgs {
		st.Messages++
		id := m.Message.MessageID
		unit := unitMessage(id)
		if id == "" || written[id] || req.IsDone(unit) {
			st.Duplicates++
			continue
		}
		written[id] = true
		if err := out[k].write(sink.Within(unit), keep, events, st); err != nil {
			return &httpsource.StagingError{Err: err}
		}
		if err := sink.UnitDone(unit); err != nil {
			return &httpsource.StagingError{Err: err}
		}
	}
	return nil
}
