package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// ReadJSON reads back a document WriteJSON wrote (-o json), for remedy
// report merge: the run's play, provenance, hosts with their facts,
// results, stats and errors, and the hosts not run. It refuses another
// schema_version, whose fields may mean something else. Fields a newer
// remedy added within the same version are ignored, as the schema allows.
// What the document does not keep (a moved SSH port) is zero.
func ReadJSON(r io.Reader) (recap.Recap, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return recap.Recap{}, err
	}
	var version struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &version); err != nil {
		return recap.Recap{}, fmt.Errorf("not a remedy -o json document: %w", err)
	}
	switch {
	case version.SchemaVersion == nil:
		return recap.Recap{}, errors.New("not a remedy -o json document: no schema_version")
	case *version.SchemaVersion != JSONSchemaVersion:
		return recap.Recap{}, fmt.Errorf("schema_version %d: this remedy reads version %d", *version.SchemaVersion, JSONSchemaVersion)
	}
	var doc jsonRun
	if err := json.Unmarshal(data, &doc); err != nil {
		return recap.Recap{}, fmt.Errorf("not a remedy -o json document: %w", err)
	}
	return recapOf(doc)
}

// recapOf is jsonDocument's inverse.
func recapOf(doc jsonRun) (recap.Recap, error) {
	r := recap.Recap{
		Play: recap.Play{
			Name: doc.Playbook, Path: doc.Path,
			Check: doc.Check, Diff: doc.Diff, Audit: doc.Audit,
			Started: doc.Started,
			Provenance: recap.Provenance{
				Version: doc.Remedy.Version, Commit: doc.Remedy.Commit,
				Operator:       doc.Operator,
				CommandLine:    doc.CommandLine,
				Inventories:    doc.Inventories,
				Limit:          doc.Limit,
				PlaybookSHA256: doc.PlaybookSHA256,
				ChangeID:       doc.ChangeID,
				Shard:          doc.Shard,
			},
		},
		NotRun:      doc.NotRun,
		Interrupted: doc.Interrupted,
		Duration:    doc.Finished.Sub(doc.Started), // exact, where duration_ms is rounded
	}
	seen := map[string]bool{}
	for _, jh := range doc.Hosts {
		if jh.Name == "" {
			return recap.Recap{}, errors.New("a host without a name")
		}
		if seen[jh.Name] {
			return recap.Recap{}, fmt.Errorf("host %s is listed twice", Visible(jh.Name))
		}
		seen[jh.Name] = true
		r.Play.Hosts = append(r.Play.Hosts, jh.Name)
		r.Hosts = append(r.Hosts, hostOf(jh))
	}
	r.Play.Hosts = append(r.Play.Hosts, doc.NotRun...)
	return r, nil
}

func hostOf(jh jsonHost) recap.HostReport {
	h := recap.HostReport{
		Host:        jh.Name,
		Facts:       jh.Facts,
		Stats:       recap.Stats(jh.Stats),
		Unreachable: jh.Unreachable,
		Duration:    time.Duration(jh.DurationMS) * time.Millisecond,
	}
	if jh.Error != "" || jh.Interrupted {
		h.Err = &readError{msg: jh.Error, canceled: jh.Interrupted}
	}
	for _, t := range jh.Tasks {
		h.Results = append(h.Results, remote.Result{
			Host: jh.Name, Kind: t.Kind, Name: t.Name, Status: remote.Status(t.Status),
			Msg: t.Msg, Diff: t.Diff, Planned: t.Planned, Severity: t.Severity, Ignored: t.Ignored, Error: t.Error,
			Duration: time.Duration(t.DurationMS) * time.Millisecond,
		})
	}
	return h
}

// readError is a host's error read back from a document: its message, and
// whether the run was interrupted there, so that errors.Is(err,
// context.Canceled) answers as it did in the run that wrote it.
type readError struct {
	msg      string
	canceled bool
}

func (e *readError) Error() string { return e.msg }

func (e *readError) Is(target error) bool { return e.canceled && target == context.Canceled }
