package amapi

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
	"github.com/custos-ir/custos/internal/jsonscan"
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
	// emptyPause is the wait before asking again after an empty pull.
	emptyPause = 250 * time.Millisecond
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

		data64 []byte // Data as the pull response holds it, when it has no escapes
	} `json:"message"`
	DeliveryAttempt int `json:"deliveryAttempt"`
}

// drainLogs pulls the subscription until it is empty (or the run's bounds
// are reached), writing every message's records under the message's unit,
// making them durable, and only then acknowledging. A message already
// written (a redelivery after a crash or a late ack) is acknowledged
// again, not written twice. Pulling, preparing (decoding and parsing) and
// writing run at once on consecutive batches, whose leases are kept.
func (s *Source) drainLogs(ctx context.Context, req collect.Request, sink collect.Sink, keep func(deviceKey string) bool, listed map[string]bool) (LogStats, error) {
	st := LogStats{Ignored: map[string]int{}}
	written := map[string]bool{} // message ids written in this run
	events := newSeen()          // devices listed or written, and events written, in this run or before its resume
	for key := range listed {
		events.add('d', key, "")
	}
	if err := events.addWritten(req); err != nil {
		return st, &httpsource.StagingError{Err: err}
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	raw := make(chan pulled)     // pulled, to be prepared
	batches := make(chan pulled) // prepared, to be written
	pulls := make(chan int, 1)
	p := &puller{out: raw, handled: make(chan struct{}, 1)}
	go func() { pulls <- s.pull(ctx, p, sink) }()
	go func() {
		defer close(batches)
		for b := range raw {
			if b.err == nil && ctx.Err() == nil {
				b.batch = prepare(s.cfg.Now, b.msgs, b.note, sink)
			}
			batches <- b
		}
	}()
	// A batch is acknowledged while the next one is written; one
	// acknowledgement at a time is outstanding.
	var err error
	var acking chan error
	awaitAck := func() {
		if acking != nil {
			if aerr := <-acking; err == nil {
				err = aerr
			}
			acking = nil
		}
	}
	for b := range batches {
		handled := false
		if err == nil && b.err == nil && b.batch != nil {
			err = s.handleBatch(req, b, sink, keep, written, events, &st)
			handled = err == nil
		}
		if err == nil {
			err = b.err
		}
		awaitAck()
		if err != nil || !handled {
			if b.batch != nil {
				b.batch.awaitStored() // nothing left storing behind the drain's back
			}
			b.stop()
			p.done()
			cancel() // the puller stops; what it pulled comes back later
			continue
		}
		acking = make(chan error, 1)
		ackIDs, stop := b.ackIDs, b.stop // not the batch: its records are written
		go func() {
			aerr := s.acknowledge(ctx, ackIDs, sink)
			stop()
			p.done()
			acking <- aerr
		}()
	}
	awaitAck()
	cancel()
	st.Pulls = <-pulls
	if err == nil {
		// Interrupted: what was pulled and not written comes back later;
		// the acquisition is not complete.
		err = parent.Err()
	}
	return st, err
}

// pulled is one pull's messages, their leases kept until stop.
type pulled struct {
	msgs   []received
	note   string // where the messages came from
	batch  *batch // msgs prepared
	ackIDs []string
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
			if err := s.sleep(ctx, emptyPause); err != nil {
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
		b := pulled{msgs: msgs, note: "the base64 data of the messages of " + ref.Path + ", decoded", ackIDs: ackIDs,
			stop: s.keepLeases(ctx, ackIDs, sink)}
		p.inFlight.Add(1)
		select {
		case p.out <- b:
		case <-ctx.Done():
			b.stop()
			return pulls
		}
	}
}

// handleBatch writes one pull's messages and makes them durable; only
// then may they be acknowledged (the puller keeps their leases
// meanwhile): a crash in between redelivers messages already written,
// which are then only acknowledged.
func (s *Source) handleBatch(req collect.Request, b pulled, sink collect.Sink,
	keep func(string) bool, written map[string]bool, events *seen, st *LogStats) error {
	if err := b.batch.write(req, sink, keep, written, events, st); err != nil {
		return err
	}
	if err := sink.Sync(); err != nil {
		return &httpsource.StagingError{Err: err}
	}
	return nil
}

// acknowledge acknowledges messages written and made durable. An
// acknowledgement that fails for any reason but a fatal one is let go:
// the messages come back and are recognised as written.
func (s *Source) acknowledge(ctx context.Context, ackIDs []string, sink collect.Sink) error {
	if len(ackIDs) == 0 {
		return nil
	}
	_, _, err := s.post(ctx, s.pubsubURL("acknowledge"), map[string][]string{"ackIds": ackIDs}, sink)
	if err != nil && (httpsource.Fatal(ctx, err) || httpsource.AuthFailed(err)) {
		return err
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

// decodePull reads a PullResponse, matching member names exactly.
// Nothing points into it (records point into the decoded data).
func decodePull(data []byte) ([]received, error) {
	resp, err := jsonscan.Parse(data)
	if err != nil || !resp.IsObject() {
		return nil, errors.New("not a JSON object")
	}
	var out []received
	var bad error
	str := func(v jsonscan.Value, what string) string {
		s, ok := v.String()
		if !ok && v.Kind() != 'n' && bad == nil {
			bad = fmt.Errorf("%s is not a string", what)
		}
		return s
	}
	resp.Members(func(name string, v jsonscan.Value) bool {
		if name != "receivedMessages" {
			return true
		}
		out = out[:0]
		if v.Kind() != '[' && v.Kind() != 'n' {
			bad = errors.New("receivedMessages is not an array")
			return false
		}
		v.Elements(func(_ int, e jsonscan.Value) bool {
			var r received
			e.Members(func(name string, v jsonscan.Value) bool {
				switch name {
				case "ackId":
					r.AckID = str(v, "ackId")
				case "deliveryAttempt":
					n, _ := v.Decode()
					f, _ := n.(float64)
					r.DeliveryAttempt = int(f)
				case "message":
					v.Members(func(name string, v jsonscan.Value) bool {
						switch name {
						case "data":
							if raw, ok := v.PlainString(); ok {
								r.Message.data64 = raw
							} else {
								r.Message.Data = str(v, "data")
							}
						case "messageId":
							r.Message.MessageID = str(v, "messageId")
						case "publishTime":
							r.Message.PublishTime = str(v, "publishTime")
						case "attributes":
							r.Message.Attributes = nil
							v.Members(func(k string, v jsonscan.Value) bool {
								if r.Message.Attributes == nil {
									r.Message.Attributes = map[string]string{}
								}
								r.Message.Attributes[k] = str(v, "attribute "+k)
								return true
							})
						}
						return true
					})
				}
				return true
			})
			out = append(out, r)
			return bad == nil
		})
		return bad == nil
	})
	return out, bad
}

// parsed is one message decoded into the records it gives, before they
// are written: decoding is done in parallel, writing in order.
type parsed struct {
	events  []usageRecord   // encoded
	device  *collect.Device // from a STATUS_REPORT or ENROLLMENT
	ignored map[string]int
}

func (p *parsed) ignore(what string) {
	if p.ignored == nil {
		p.ignored = map[string]int{}
	}
	p.ignored[what]++
}

// parseMessage decodes one message (data is its decoded data, at ref, and
// doc that data parsed, or the zero Value).
func parseMessage(m received, data json.RawMessage, doc jsonscan.Value, ref collect.RawRef) parsed {
	var p parsed
	kind := m.Message.Attributes["notificationType"]
	switch kind {
	case "USAGE_LOGS":
		p.events, p.ignored = usageLogsOf(doc, ref)
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
		p.events = []usageRecord{{Event: collect.Event{DeviceKey: rec.Key, Time: at, Type: EventStatusReport, Fields: fields, Raw: ref}.Encoded()}}
		p.device = &rec
	default:
		p.ignore(kind)
	}
	return p
}

// stored sets where the records' data is stored.
func (p *parsed) stored(ref collect.RawRef) {
	for i := range p.events {
		p.events[i].Raw.Path, p.events[i].Raw.SHA256 = ref.Path, ref.SHA256
	}
	if p.device != nil {
		p.device.Raw.Path, p.device.Raw.SHA256 = ref.Path, ref.SHA256
	}
}

// write writes a parsed message's records of the devices kept into sink:
// its events, each device event id once, and the device a status report
// describes when no device record names it yet (seen: the event ids and
// "device:KEY" of the devices written or listed in this run).
func (p parsed) write(sink collect.Sink, keep func(string) bool, seen *seen, st *LogStats) error {
	for k, n := range p.ignored {
		st.Ignored[k] += n
	}
	if d := p.device; d != nil && (keep == nil || keep(d.Key)) && seen.add('d', d.Key, "") {
		if err := sink.Device(*d); err != nil {
			return err
		}
	}
	for _, ev := range p.events {
		if keep != nil && !keep(ev.DeviceKey) {
			st.Unselected++
			continue
		}
		if ev.id != "" {
			if !seen.add('e', ev.DeviceKey, ev.id) {
				st.DuplicateEvents++
				continue
			}
		}
		st.Events++
		if err := sink.Event(ev.Event); err != nil {
			return err
		}
	}
	return nil
}

// usageLogs decodes and writes the events of a BatchUsageLogEvents.
func (s *Source) usageLogs(data json.RawMessage, ref collect.RawRef, sink collect.Sink, seen *seen, st *LogStats) error {
	evs, ignored := parseUsageLogs(data, ref)
	return parsed{events: evs, ignored: ignored}.write(sink, nil, seen, st)
}

// batch is a run of messages decoded, their decoded data stored, and
// parsed into the records each gives, ready to be written.
type batch struct {
	msgs      []received
	out       []parsed
	stored    chan error     // the decoded data stored
	storedErr error          // what stored said, once awaited
	ref       collect.RawRef // where, once stored
}

// awaitStored waits until the batch's decoded data is stored.
func (b *batch) awaitStored() error {
	if b.stored != nil {
		b.storedErr = <-b.stored
		b.stored = nil
	}
	return b.storedErr
}

// prepare decodes the base64 data of msgs, stores the decoded data of all
// of them in one file (note says where they came from), and parses every
// message into its records, encoded. Decoding and parsing run on every
// core, and nothing is written but the raw file, so a drain prepares the
// next batch while the current one is written.
func prepare(now func() time.Time, msgs []received, note string, sink collect.Sink) *batch {
	decoded := make([][]byte, len(msgs))
	docs := make([]jsonscan.Value, len(msgs))
	parallel(len(msgs), func(k int) {
		m := &msgs[k].Message
		src := m.data64
		if src == nil {
			src = []byte(m.Data)
		}
		data := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		n, err := base64.StdEncoding.Decode(data, src)
		data = data[:n]
		var doc jsonscan.Value
		if err == nil {
			doc, err = jsonscan.Parse(data) // parsed once, for storing and for reading
			if errors.Is(err, jsonscan.ErrTooLarge) && jsonscan.Valid(data) {
				err = nil // JSON too large to read: stored as it is, counted unreadable
			}
		}
		if err != nil {
			data, _ = json.Marshal(string(data)) // kept as text
		}
		decoded[k], docs[k] = data, doc
		m.Data, m.data64 = "", nil // decoded: the pull response holds it, stored
	})
	// Built by hand: json.Marshal would validate and compact every data
	// again, and the data must stay byte for byte as received.
	size := 16
	for _, d := range decoded {
		size += len(d) + 64
	}
	body := make([]byte, 0, size)
	body = append(body, `{"messages":[`...)
	for k, d := range decoded {
		if k > 0 {
			body = append(body, ',')
		}
		id, _ := json.Marshal(msgs[k].Message.MessageID)
		body = append(body, `{"messageId":`...)
		body = append(body, id...)
		body = append(body, `,"data":`...)
		body = append(body, d...)
		body = append(body, '}')
	}
	body = append(body, "]}"...)
	// The decoded data is stored (and fsynced) while the messages are
	// parsed and their records encoded, all but the reference to that
	// file; the batch is written once it is stored.
	b := &batch{msgs: msgs, out: make([]parsed, len(msgs)), stored: make(chan error, 1)}
	go func() {
		var err error
		b.ref, err = sink.Capture(Name, &collect.Exchange{Started: now(), Finished: now(), Note: note}, body, true)
		b.stored <- err
	}()
	parallel(len(msgs), func(k int) {
		b.out[k] = parseMessage(msgs[k], decoded[k], docs[k], collect.RawRef{Pointer: "/messages/" + strconv.Itoa(k) + "/data"})
	})
	return b
}

// parallel calls fn for 0 ≤ k < n on every core.
func parallel(n int, fn func(k int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for k := range next {
				fn(k)
			}
		})
	}
	for k := range n {
		next <- k
	}
	close(next)
	wg.Wait()
}

// write writes each message's records under its unit, once: a message
// already written (in this run, or before a resume) is skipped.
func (b *batch) write(req collect.Request, sink collect.Sink, keep func(string) bool, written map[string]bool, events *seen, st *LogStats) error {
	if err := b.awaitStored(); err != nil {
		return &httpsource.StagingError{Err: err}
	}
	for k := range b.out {
		b.out[k].stored(b.ref)
	}
	for k, m := range b.msgs {
		st.Messages++
		id := m.Message.MessageID
		unit := unitMessage(id)
		if id == "" || written[id] || req.IsDone(unit) {
			st.Duplicates++
			continue
		}
		written[id] = true
		if err := b.out[k].write(sink.Within(unit), keep, events, st); err != nil {
			return &httpsource.StagingError{Err: err}
		}
		if err := sink.UnitDone(unit); err != nil {
			return &httpsource.StagingError{Err: err}
		}
	}
	return nil
}

// seen remembers what a run has written: devices (kind 'd') and events by
// device and eventId (kind 'e'), as 128-bit hashes under seeds drawn per
// run: a drain of millions of events keeps 16 bytes for each, no two
// distinct keys are mistaken for one in practice, and nobody can craft ids
// that collide.
type seen struct {
	h1, h2 maphash.Hash // their seeds are drawn when first used
	set    map[[2]uint64]struct{}
}

func newSeen() *seen { return &seen{set: map[[2]uint64]struct{}{}} }

// addWritten adds the devices and usage-log events written before a
// resume, so that an event repeated in a message that comes after the
// resume is still written once.
func (s *seen) addWritten(req collect.Request) error {
	if req.Written == nil {
		return nil
	}
	err := req.Written(collect.DevicesFile, func(line []byte) error {
		v, err := jsonscan.Parse(line)
		if err != nil {
			return err
		}
		v.Members(func(name string, v jsonscan.Value) bool {
			if name == "key" {
				key, _ := v.String()
				s.add('d', key, "")
			}
			return true
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the devices written before the resume: %w", err)
	}
	err = req.Written(collect.EventsFile, func(line []byte) error {
		v, err := jsonscan.Parse(line)
		if err != nil {
			return err
		}
		var key, id string
		v.Members(func(name string, v jsonscan.Value) bool {
			switch name {
			case "device_key":
				key, _ = v.String()
			case "fields":
				v.Members(func(name string, v jsonscan.Value) bool {
					if name == "event_id" {
						id, _ = v.String()
					}
					return true
				})
			}
			return true
		})
		if id != "" {
			s.add('e', key, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the events written before the resume: %w", err)
	}
	return nil
}

// add records kind, a and b, and reports whether they were new.
func (s *seen) add(kind byte, a, b string) bool {
	var k [2]uint64
	for i, h := range []*maphash.Hash{&s.h1, &s.h2} {
		h.Reset()
		h.WriteByte(kind)
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(a)))]) // a's length: no a, b pair reads as another
		h.WriteString(a)
		h.WriteString(b)
		k[i] = h.Sum64()
	}
	n := len(s.set)
	s.set[k] = struct{}{} // one probe: the set grew if k was new
	return len(s.set) > n
}
