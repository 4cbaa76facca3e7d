package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Acquisition is provenance/acquisition.json: who collected what, when, how
// and with which tool. It is part of the sealed payload.
type Acquisition struct {
	Version     int          `json:"v"`
	ID          string       `json:"acquisition_id"`
	CaseID      string       `json:"case_id"`
	Started     time.Time    `json:"collection_start_utc"`
	Finished    time.Time    `json:"collection_end_utc"`
	Operator    string       `json:"operator"`
	Host        string       `json:"host"`
	Tool        Tool         `json:"tool"`
	CommandLine []string     `json:"command_line"` // secrets redacted
	Sources     []Descriptor `json:"sources"`
	Targets     []string     `json:"targets"`
	Counts      Counts       `json:"counts"`
	Gaps        []Gap        `json:"gaps"`
	Status      string       `json:"status"` // complete, completed_with_gaps
	// Resumed lists when an interrupted collection was resumed.
	Resumed []time.Time `json:"resumed_utc,omitempty"`
}

// Tool identifies the collecting software.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Build   string `json:"build,omitempty"` // VCS revision and Go version
}

// Run collects req from src into st and finishes the staging with acq.
// acq must carry ID, CaseID, Operator, Host, Tool and CommandLine; Run fills
// in the times, source description, targets, counts and gaps. On error the
// staging is aborted and left without acquisition.json.
func Run(ctx context.Context, src Source, req Request, st *Staging, acq *Acquisition, now func() time.Time) error {
	desc := src.Describe()
	acq.Version = 1
	acq.Started = now().UTC()
	if c := st.Resumed(); c != nil {
		acq.Started = c.Started
	}
	if req.Done == nil {
		req.Done = st.Done
	}
	if req.Written == nil && st.Resumed() != nil {
		req.Written = st.ReadWritten
	}
	acq.Sources = []Descriptor{desc}
	if req.All {
		acq.Targets = []string{"all"}
	} else {
		for _, s := range req.Selectors {
			acq.Targets = append(acq.Targets, s.String())
		}
	}
	if !req.All && len(req.Selectors) == 0 {
		st.Abort()
		return errors.New("no devices selected: pass --device SELECTOR or --all")
	}
	if err := src.Collect(ctx, req, staleGaps{Sink: st, req: req, now: now().UTC()}); err != nil {
		st.Abort()
		return err
	}
	for _, kind := range []string{TelemetryDeviceState, TelemetryAppInventory, TelemetryDeviceLogs, TelemetryAdminAudit} {
		if !slices.Contains(desc.Telemetry, kind) {
			g := Gap{Source: desc.Name, Telemetry: kind, Reason: ReasonNotSupported,
				Detail: fmt.Sprintf("%s is not collected through %s", kind, desc.API)}
			if err := st.Gap(g); err != nil {
				st.Abort()
				return err
			}
		}
	}
	acq.Finished = now().UTC()
	acq.Status = "complete"
	for _, g := range st.Gaps() {
		if g.Failure() {
			acq.Status = "completed_with_gaps"
			break
		}
	}
	return st.Finish(acq)
}

// staleGaps records a stale gap for every device written whose last
// check-in is older than req.StaleAfter, whatever the source: staleness is
// judged the same way for every MDM.
type staleGaps struct {
	Sink
	req Request
	now time.Time
}

func (s staleGaps) Device(d Device) error {
	if err := s.Sink.Device(d); err != nil {
		return err
	}
	now := s.req.Now
	if now.IsZero() {
		now = s.now
	}
	if s.req.StaleAfter <= 0 || d.LastSeenAt == nil || now.Sub(*d.LastSeenAt) <= s.req.StaleAfter {
		return nil
	}
	age := now.Sub(*d.LastSeenAt)
	return s.Sink.Gap(Gap{DeviceKey: d.Key, Source: d.Source, Telemetry: TelemetryDeviceState, Reason: ReasonStale,
		Detail: fmt.Sprintf("last check-in %s, %d days before collection: state and inventory are as of then",
			d.LastSeenAt.UTC().Format(time.RFC3339), int(age.Hours()/24))})
}
