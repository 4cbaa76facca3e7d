package amapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
)

// MaxImportBytes bounds an imported export (a month of usage logs of a
// large fleet fits many times over).
const MaxImportBytes = 64 << 30

// maxImportLine bounds one line of an export (one Pub/Sub message).
const maxImportLine = 16 << 20

// Import reads AMAPI notifications exported from Pub/Sub as NDJSON, one
// message per line: a push envelope ({"message": {...}, "subscription"}),
// a ReceivedMessage ({"ackId", "message"}) or a bare PubsubMessage
// ({"data", "attributes", "messageId", "publishTime"}). The file is kept
// byte for byte as the raw evidence, and its messages give the same
// records as the live drain. Any malformed line fails the import with its
// line number: nothing is imported in part.
//
// With Request.Since, the usage-log events dated before it are not
// written as records (the file and the decoded data still hold them);
// STATUS_REPORT and ENROLLMENT messages give their records whatever
// their date, as in the live drain, which applies no Since.
type Import struct {
	path string
	Now  func() time.Time
	// Logs is what the import did (after Collect).
	Logs LogStats
	// BeforeSince counts the usage-log events of the devices kept that
	// were not written because they are dated before Request.Since
	// (after Collect).
	BeforeSince int
}

// NewImport checks that path is a regular file.
func NewImport(path string) (*Import, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("amapi import: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("amapi import: %s is not a regular file", path)
	}
	return &Import{path: path, Now: time.Now}, nil
}

// Name implements collect.Source: records are keyed like the live
// source's, so that both correlate.
func (im *Import) Name() string { return Name }

// Describe implements collect.Source.
func (im *Import) Describe() collect.Descriptor {
	return collect.Descriptor{Name: Name, API: "Android Management API notifications exported from Pub/Sub (NDJSON)",
		Endpoints: []string{"file:" + filepath.Base(im.path)},
		// Device state comes with STATUS_REPORT and ENROLLMENT messages.
		Telemetry: []string{collect.TelemetryDeviceState, collect.TelemetryDeviceLogs}}
}

// Collect implements collect.Source.
func (im *Import) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	for _, sel := range req.Selectors {
		if !req.All && sel.Kind != "id" {
			return fmt.Errorf("amapi import: an export names devices by id only; %s cannot select from it", sel)
		}
	}
	f, err := os.Open(im.path)
	if err != nil {
		return err
	}
	defer f.Close()
	start := im.Now()
	ex := &collect.Exchange{Started: start, Method: "IMPORT", URL: "file:" + filepath.Base(im.path),
		Note: "imported export, kept as given"}
	if !req.Since.IsZero() {
		// Known before the file is read; how many is in BeforeSince.
		ex.Note += "; usage-log events dated before " + req.Since.UTC().Format(time.RFC3339Nano) + " not written as records"
	}
	ex.Finished = im.Now()
	ref, err := sink.CaptureReader(Name, ex, f, "ndjson", MaxImportBytes)
	if err != nil {
		return &httpsource.StagingError{Err: err}
	}
	// The records come from a second read of the file, which must be the
	// bytes just kept.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := sha256.New()
	r := bufio.NewReaderSize(io.TeeReader(f, h), 1<<20)
	im.Logs, im.BeforeSince = LogStats{Ignored: map[string]int{}}, 0
	written, events := map[string]bool{}, newSeen()
	if err := events.addWritten(req); err != nil {
		return &httpsource.StagingError{Err: err}
	}
	var batch []received
	first := 1
	flush := func(last int) error {
		if len(batch) == 0 {
			return nil
		}
		note := fmt.Sprintf("the base64 data of the messages of %s lines %d–%d, decoded", ref.Path, first, last)
		keep := func(key string) bool {
			id := strings.TrimPrefix(key, Name+":")
			return req.All || req.Wanted(collect.Device{Key: key, Source: Name, SourceID: id})
		}
		b := prepare(im.Now, batch, note, sink)
		im.BeforeSince += dropBefore(req, b, keep, written)
		err := b.write(req, sink, keep, written, events, &im.Logs)
		batch, first = batch[:0], last+1
		return err
	}
	line := 0
	for {
		data, err := readLine(r)
		if errors.Is(err, io.EOF) && len(data) == 0 {
			break
		}
		line++
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s:%d: %w", filepath.Base(im.path), line, err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		m, err := parseExported(data)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", filepath.Base(im.path), line, err)
		}
		batch = append(batch, m)
		if len(batch) == DefaultPullBatch {
			if err := flush(line); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := flush(line); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != ref.SHA256 {
		return fmt.Errorf("%s changed while it was being imported", im.path)
	}
	return sink.Sync()
}

// dropBefore removes from b the usage-log events of the devices kept that
// are dated before req.Since, and returns how many of them were in
// messages that b.write will write (not those of a message written
// already, which it skips). An event without a time is kept (a usage-log
// event cannot have none: it is unreadable); the events of devices not
// kept are left for write to count as unselected; status_report events
// and devices (STATUS_REPORT, ENROLLMENT) are not filtered.
func dropBefore(req collect.Request, b *batch, keep func(string) bool, written map[string]bool) int {
	if req.Since.IsZero() {
		return 0
	}
	n := 0
	inBatch := map[string]bool{}
	for k, m := range b.msgs {
		id := m.Message.MessageID
		counted := id != "" && !written[id] && !inBatch[id] && !req.IsDone(unitMessage(id))
		inBatch[id] = true
		if m.Message.Attributes["notificationType"] != "USAGE_LOGS" {
			continue
		}
		p := &b.out[k]
		evs := p.events[:0]
		for _, ev := range p.events {
			if !ev.Time.IsZero() && ev.Time.Before(req.Since) && keep(ev.DeviceKey) {
				if counted {
					n++
				}
				continue
			}
			evs = append(evs, ev)
		}
		clear(p.events[len(evs):])
		p.events = evs
	}
	return n
}

// readLine reads one line of at most maxImportLine bytes, without its
// newline.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxImportLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxImportLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// LooksExported reports whether line is an exported AMAPI notification.
func LooksExported(line []byte) bool {
	_, err := parseExported(line)
	return err == nil
}

// parseExported reads one exported message.
func parseExported(data []byte) (received, error) {
	var env struct {
		Message *json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return received{}, fmt.Errorf("not a JSON object: %w", err)
	}
	msg := data
	if env.Message != nil {
		msg = *env.Message
	}
	var r received
	if err := json.Unmarshal(msg, &r.Message); err != nil {
		return received{}, fmt.Errorf("message: %w", err)
	}
	switch {
	case r.Message.MessageID == "":
		return received{}, errors.New("message without messageId")
	case r.Message.Attributes["notificationType"] == "":
		return received{}, errors.New("message without the notificationType attribute")
	}
	if _, err := base64.StdEncoding.DecodeString(r.Message.Data); err != nil {
		return received{}, fmt.Errorf("message %s: data is not base64: %w", r.Message.MessageID, err)
	}
	return r, nil
}
