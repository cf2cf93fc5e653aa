package output

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"remedy/lua/remote"
	"remedy/runner/recap"
)

// JSONSchemaVersion is the version of the -o json document's schema
// (docs/output.md): it goes up when a field changes meaning or goes
// away, not when one is added.
const JSONSchemaVersion = 1

// jsonRun is the document -o json writes once, at the end of a run. Its
// schema is documented in docs/output.md; change both together.
type jsonRun struct {
	SchemaVersion  int         `json:"schema_version"`
	Remedy         jsonVersion `json:"remedy"`
	Operator       string      `json:"operator"`
	CommandLine    []string    `json:"command_line"`
	Inventories    []string    `json:"inventories"`
	Limit          string      `json:"limit"`
	ChangeID       string      `json:"change_id"`
	Shard          string      `json:"shard,omitempty"`
	Playbook       string      `json:"playbook"`
	Path           string      `json:"path"`
	PlaybookSHA256 string      `json:"playbook_sha256"`
	Check          bool        `json:"check"`
	Diff           bool        `json:"diff"`
	Audit          bool        `json:"audit"`
	Started        time.Time   `json:"started"`
	Finished       time.Time   `json:"finished"`
	DurationMS     int64       `json:"duration_ms"`
	Interrupted    bool        `json:"interrupted"`
	Hosts          []jsonHost  `json:"hosts"`
	NotRun         []string    `json:"not_run"`
	Totals         jsonStats   `json:"totals"`
}

type jsonVersion struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

type jsonHost struct {
	Name string `json:"name"`
	// Verdict is the report's: compliant, non-compliant, unreachable or
	// incomplete (interrupted, or a check or task broke).
	Verdict     string        `json:"verdict"`
	Interrupted bool          `json:"interrupted"`
	Unreachable bool          `json:"unreachable"`
	Error       string        `json:"error,omitempty"`
	DurationMS  int64         `json:"duration_ms"`
	Facts       *remote.Facts `json:"facts,omitempty"`
	Tasks       []jsonResult  `json:"tasks"`
	Stats       jsonStats     `json:"stats"`
}

type jsonResult struct {
	Name       string      `json:"name"`
	Kind       remote.Kind `json:"kind"`
	Status     string      `json:"status"`
	State      string      `json:"state"` // as the audit table says it: pass, fail, error, would change, ...
	Error      bool        `json:"error,omitempty"`
	Changed    bool        `json:"changed"`
	Ignored    bool        `json:"ignored,omitempty"`
	Severity   string      `json:"severity,omitempty"`
	Msg        string      `json:"msg"`
	Diff       string      `json:"diff,omitempty"`
	Planned    []string    `json:"planned,omitempty"`
	DurationMS int64       `json:"duration_ms"`
}

type jsonStats struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Unreachable int `json:"unreachable"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	Rescued     int `json:"rescued"`
	Ignored     int `json:"ignored"`
}

// WriteJSON writes the whole run as one indented JSON document. Texts
// are exact, as JSON strings: encoding/json escapes C0 controls and
// turns bytes that are not UTF-8 into U+FFFD, and escapeControls escapes
// what it leaves, so the document is safe to print on a terminal too.
func WriteJSON(w io.Writer, r recap.Recap) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonDocument(r)); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	if _, err := w.Write(escapeControls(buf.Bytes())); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// escapeControls writes the C1 controls and bidirectional controls in a
// JSON document as \u escapes, which encoding/json leaves as they are. It
// needs no parsing: outside strings a JSON document is ASCII.
func escapeControls(doc []byte) []byte {
	if !bytes.ContainsFunc(doc, acts) {
		return doc
	}
	var b bytes.Buffer
	b.Grow(len(doc) + 64)
	for len(doc) > 0 {
		r, size := utf8.DecodeRune(doc)
		if r >= utf8.RuneSelf && acts(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.Write(doc[:size])
		}
		doc = doc[size:]
	}
	return b.Bytes()
}

func jsonDocument(r recap.Recap) jsonRun {
	p := r.Play.Provenance
	doc := jsonRun{
		SchemaVersion:  JSONSchemaVersion,
		Remedy:         jsonVersion{Version: p.Version, Commit: p.Commit},
		Operator:       p.Operator,
		CommandLine:    append([]string{}, p.CommandLine...),
		Inventories:    append([]string{}, p.Inventories...),
		Limit:          p.Limit,
		ChangeID:       p.ChangeID,
		Shard:          p.Shard,
		PlaybookSHA256: p.PlaybookSHA256,
		Playbook:       r.Play.Name,
		Path:           r.Play.Path,
		Check:          r.Play.Check,
		Diff:           r.Play.Diff,
		Audit:          r.Play.Audit,
		Started:        r.Play.Started,
		Finished:       r.Play.Started.Add(r.Duration),
		DurationMS:     r.Duration.Milliseconds(),
		Interrupted:    r.Interrupted,
		Hosts:          []jsonHost{},
		NotRun:         append([]string{}, r.NotRun...),
	}
	var total recap.Stats
	for _, h := range sortedHosts(r.Hosts) {
		doc.Hosts = append(doc.Hosts, jsonHostOf(h, r.Play.Check))
		total = addStats(total, h.Stats)
	}
	doc.Totals = jsonStats(total)
	return doc
}

func jsonHostOf(h recap.HostReport, check bool) jsonHost {
	jh := jsonHost{
		Name:        h.Host,
		Verdict:     reportHostOf(h, check).Verdict,
		Interrupted: errors.Is(h.Err, context.Canceled),
		Unreachable: h.Unreachable,
		DurationMS:  h.Duration.Milliseconds(),
		Facts:       h.Facts,
		Tasks:       []jsonResult{},
		Stats:       jsonStats(h.Stats),
	}
	if h.Err != nil {
		jh.Error = h.Err.Error()
	}
	for _, res := range h.Results {
		jh.Tasks = append(jh.Tasks, jsonResult{
			Name:       res.Name,
			Kind:       res.Kind,
			Status:     string(res.Status),
			State:      reportRowOf(res, check).State,
			Error:      res.Error,
			Changed:    res.Status == remote.StatusChanged,
			Ignored:    res.Ignored,
			Severity:   res.Severity,
			Msg:        res.Msg,
			Diff:       res.Diff,
			Planned:    res.Planned,
			DurationMS: res.Duration.Milliseconds(),
		})
	}
	return jh
}

func addStats(a, b recap.Stats) recap.Stats {
	return recap.Stats{
		OK:          a.OK + b.OK,
		Changed:     a.Changed + b.Changed,
		Unreachable: a.Unreachable + b.Unreachable,
		Failed:      a.Failed + b.Failed,
		Skipped:     a.Skipped + b.Skipped,
		Rescued:     a.Rescued + b.Rescued,
		Ignored:     a.Ignored + b.Ignored,
	}
}
